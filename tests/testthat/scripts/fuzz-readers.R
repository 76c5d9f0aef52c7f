# Mutated files against the readers (ReadH5AD, ReadH5MU, LoadMultigrade): run by
# test-fuzz-readers.R (a bounded run) and bench/fuzz/run.sh (a longer one) in a child R
# process under a time and memory limit, so that a crash or a hang is seen from outside.
#   Rscript fuzz-readers.R <mutations per file and kind> <seed> <results.tsv> [file.h5mu]
# Each mutation appends one line to results.tsv before the next starts: file, kind, what,
# outcome (ok = read without error, for a model file: loaded exactly as the original; error =
# a classed mg_error_file; wrong = a model that loaded with other contents; unclassed = any
# other error), condition class and message.
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[1])
seed <- as.integer(args[2])
results <- args[3]
h5mu <- if (length(args) >= 4 && nzchar(args[4])) args[4] else NULL
suppressPackageStartupMessages(library(multigrade))
options(warn = -1)

work <- tempfile("fuzz")
dir.create(work)
model_file <- file.path(work, "model.h5")
cite <- multigrade_example("cite")
SaveMultigrade(RunMultigrade(list(adt = cite$adt), latent_dim = 4, max_epochs = 1, seed = 1, verbose = FALSE,
    options = multigrade_options(n_hidden_encoder = 16L, n_hidden_decoder = 16L)), model_file)
# A model file that loads must load exactly as the original did (it has checksums): any
# difference is the outcome "wrong". (AnnData files carry no checksums: a flipped bit in
# their values can only be read as it is.)
original_model <- LoadMultigrade(model_file)
load_or_wrong <- function(f) {
    if (!identical(LoadMultigrade(f), original_model)) stop(structure(class = c("wrong_model", "error", "condition"),
        list(message = "a damaged model loaded with other contents", call = NULL)))
}
targets <- list(
    h5ad = list(file = system.file("extdata", "neurips2021", "cite_adt.h5ad", package = "multigrade"),
        read = function(f) ReadH5AD(f, layer = "counts")),
    model = list(file = model_file, read = load_or_wrong))
if (!is.null(h5mu)) targets$h5mu <- list(file = h5mu, read = ReadH5MU)

# Byte-level mutations.
truncate_file <- function(f) {
    bytes <- readBin(f, "raw", file.size(f))
    at <- sample.int(length(bytes) - 1L, 1)
    writeBin(bytes[seq_len(at)], f)
    sprintf("truncated to %d of %d bytes", at, length(bytes))
}
flip_bits <- function(f) {
    bytes <- readBin(f, "raw", file.size(f))
    at <- sample.int(length(bytes), sample.int(8, 1))
    for (i in at) bytes[i] <- xor(bytes[i], as.raw(bitwShiftL(1L, sample.int(8, 1) - 1L)))
    writeBin(bytes, f)
    sprintf("bits flipped at bytes %s", paste(at, collapse = ","))
}
# Structural mutations through HDF5 itself: a dataset or group removed, a dataset of another
# type or a shorter shape in its place, or one that declares 2^40 elements (chunked, nothing
# stored: reading it would need terabytes).
objects <- function(h5, type) {
    listing <- h5$ls(recursive = TRUE)
    listing$name[listing$obj_type == type]
}
restructure <- function(f, kind) {
    h5 <- hdf5r::H5File$new(f, "r+")
    on.exit(h5$close_all())
    datasets <- objects(h5, "H5I_DATASET")
    target <- if (kind == "missing") sample(c(datasets, objects(h5, "H5I_GROUP")), 1) else sample(datasets, 1)
    old <- if (kind == "missing") NULL else h5[[target]]$read()
    h5$link_delete(target)
    if (kind == "retyped") {
        h5[[target]] <- if (is.character(old)) seq_along(old) * 1.5 else rep("x", length(old))
    } else if (kind == "reshaped") {
        h5[[target]] <- if (length(old) > 1) utils::head(as.vector(old), length(old) %/% 2) else c(old, old)
    } else if (kind == "huge") {
        space <- hdf5r::H5S$new(dims = 2^40, maxdims = Inf)
        h5$create_dataset(target, dtype = hdf5r::h5types$H5T_NATIVE_INT, space = space, chunk_dims = 1024)
    }
    sprintf("%s %s", kind, target)
}
mutations <- list(truncated = truncate_file, bits = flip_bits,
    missing = function(f) restructure(f, "missing"), retyped = function(f) restructure(f, "retyped"),
    reshaped = function(f) restructure(f, "reshaped"), huge = function(f) restructure(f, "huge"))

set.seed(seed)
clean <- function(x) gsub("[\t\n]+", " ", x)
cat("file\tkind\twhat\toutcome\tclass\tmessage\n", file = results)
for (name in names(targets)) {
    for (kind in names(mutations)) {
        for (i in seq_len(n)) {
            copy <- file.path(work, paste0("mutated-", basename(targets[[name]]$file)))
            file.copy(targets[[name]]$file, copy, overwrite = TRUE)
            what <- tryCatch(mutations[[kind]](copy), error = function(e) paste("mutation failed:", conditionMessage(e)))
            cat(name, kind, clean(what), "started", "", "", sep = "\t", file = results, append = TRUE)
            cat("\n", file = results, append = TRUE)
            outcome <- tryCatch({
                targets[[name]]$read(copy)
                c("ok", "", "")
            }, error = function(e) {
                outcome <- if (inherits(e, "wrong_model")) "wrong" else if (inherits(e, "mg_error_file")) "error" else "unclassed"
                c(outcome, class(e)[1], clean(conditionMessage(e)))
            })
            cat(name, kind, clean(what), outcome, sep = "\t", file = results, append = TRUE)
            cat("\n", file = results, append = TRUE)
        }
    }
}
cat("done\n", file = results, append = TRUE)
