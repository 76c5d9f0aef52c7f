# The readers (ReadH5AD, ReadH5MU, LoadMultigrade) against mutated files: truncations, bit
# flips, missing, retyped and reshaped datasets, and datasets that declare 2^40 elements.
# A bounded run here (bench/fuzz/run.sh runs a longer one), in a child R process under a
# memory limit and a timeout, so that a crash or a hang fails the test instead of killing it.

test_that("mutated .h5ad, .h5mu and model files are read or refused with a classed error, never a crash", {
    results <- tempfile(fileext = ".tsv")
    h5mu <- file.path(Sys.getenv("MULTIGRADE_SHARED", "../../../shared"), "data", "multiome_pbmc_muon_tiny",
        "test_rna_atac.h5mu")
    expect_true(file.exists(h5mu))
    command <- sprintf("ulimit -v 12000000; R_LIBS=%s timeout 600 %s %s 3 7 %s %s > /dev/null 2>&1",
        shQuote(paste(.libPaths(), collapse = .Platform$path.sep)), shQuote(file.path(R.home("bin"), "Rscript")),
        shQuote(test_path("scripts", "fuzz-readers.R")), shQuote(results), shQuote(normalizePath(h5mu)))
    status <- system2("bash", c("-c", shQuote(command)))
    lines <- readLines(results)
    # 0: finished; 124 would be a hang, 134 or 139 a crash, during the last "started" line.
    expect_equal(status, 0, label = paste("reader process status; last mutation:", utils::tail(lines, 1)))
    expect_identical(utils::tail(lines, 1), "done")
    rows <- utils::read.delim(text = paste(lines[-length(lines)], collapse = "\n"), quote = "", colClasses = "character")
    rows <- rows[rows$outcome != "started", ]
    expect_equal(nrow(rows), 3 * 6 * 3)  # 3 files x 6 kinds x 3 mutations
    expect_true(all(rows$outcome %in% c("ok", "error")), label = paste(rows$message[rows$outcome == "unclassed"], collapse = "; "))
    # A damaged model never loads with other contents: a mutation is caught, or changed
    # nothing that is read (a flipped bit in padding); most are caught.
    expect_gte(mean(rows$outcome[rows$file == "model"] == "error"), 0.8)
    # A declared size beyond what the file could hold is refused before any allocation.
    expect_true(all(rows$outcome[rows$kind == "huge"] == "error"))
    expect_true(any(grepl("declares", rows$message[rows$kind == "huge" & rows$file != "model"])))
})

test_that("a file that crashes the HDF5 library is a classed error, and the session lives on", {
    # Eight flipped bits (seed 2) in the shared .h5mu damage a variable-length string heap:
    # with Debian's HDF5 1.10.8 reading it segfaults inside H5Dread. The reader runs in a
    # forked child (R/isolated-read.R), so this session gets an error instead.
    source <- file.path(Sys.getenv("MULTIGRADE_SHARED", "../../../shared"), "data", "multiome_pbmc_muon_tiny",
        "test_rna_atac.h5mu")
    damaged <- tempfile(fileext = ".h5mu")
    bytes <- readBin(source, "raw", file.size(source))
    set.seed(2)
    at <- sample.int(length(bytes), 8)
    for (i in at) bytes[i] <- xor(bytes[i], as.raw(bitwShiftL(1L, sample.int(8, 1) - 1L)))
    writeBin(bytes, damaged)
    expect_error(ReadH5MU(damaged), "damaged", class = "mg_error_file")
    # The crashed child did not run R's clean-up, which would delete the tempdir() it shares.
    expect_true(file.exists(damaged))
    expect_identical(names(ReadH5MU(source)$mod), c("atac", "rna"))  # and reading goes on
})
