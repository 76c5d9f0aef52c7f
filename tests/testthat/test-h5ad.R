# The .h5ad and .h5mu readers and writers (R/h5ad.R, R/h5mu.R, R/anndata-*.R) on real files,
# in round trips, and against Python's anndata where Debian's python3-anndata is installed.

# A file of ../shared/data beside the checkout (the tests run in tests/testthat).
shared_file <- function(...) file.path(Sys.getenv("MULTIGRADE_SHARED", "../../../shared"), "data", ...)

# A Python with anndata, or NULL (Debian's is /usr/bin/python3; a pyenv one may shadow it).
anndata_python <- local({
    found <- NA
    function() {
        if (identical(found, NA)) {
            candidates <- unique(c("/usr/bin/python3", Sys.which("python3")))
            ok <- vapply(candidates, function(p) {
                nzchar(p) && file.exists(p) &&
                    identical(suppressWarnings(system2(p, c("-c", shQuote("import anndata")), stdout = FALSE,
                        stderr = FALSE)), 0L)
            }, logical(1))
            found <<- if (any(ok)) candidates[ok][1] else NULL
        }
        found
    }
})

run_python <- function(code) {
    script <- tempfile(fileext = ".py")
    writeLines(code, script)
    out <- system2(anndata_python(), script, stdout = TRUE, stderr = TRUE)
    status <- attr(out, "status")
    if (!is.null(status) && status != 0) stop(paste(out, collapse = "\n"))
    out
}

# One of each kind of annotation anndata stores.
typed_obs <- function(cells) {
    n <- length(cells)
    data.frame(
        donor = factor(rep(c("d1", "d2", NA), length.out = n), levels = c("d2", "d1")),
        stage = factor(rep(c("early", "late"), length.out = n), levels = c("early", "late"), ordered = TRUE),
        depth = seq_len(n) / 7, n_genes = seq_len(n), doublet = rep(c(TRUE, FALSE), length.out = n),
        passed = rep(c(TRUE, NA, FALSE), length.out = n), count = rep(c(1L, NA), length.out = n),
        barcode = paste0("bc", seq_len(n)), row.names = cells, stringsAsFactors = FALSE)
}

test_that("ReadH5AD reads counts, CLR values and categorical annotations", {
    path <- system.file("extdata", "neurips2021", "cite_adt.h5ad", package = "multigrade")
    counts <- ReadH5AD(path, layer = "counts")
    expect_s4_class(counts$X, "dgCMatrix")
    expect_equal(dim(counts$X), c(134L, 600L))
    expect_true(all(counts$X@x == round(counts$X@x)))
    expect_identical(levels(counts$obs$batch), c("s1d1", "s1d2"))
    expect_equal(as.vector(table(counts$obs$batch)), c(311L, 289L))
    expect_error(ReadH5AD(path, layer = "spliced"), "no matrix", class = "mg_error_file")
    expect_error(ReadH5AD(tempfile()), "does not exist", class = "mg_error_file")
    not_hdf5 <- tempfile()
    writeLines("x", not_hdf5)
    expect_error(ReadH5AD(not_hdf5), "not an HDF5 file", class = "mg_error_file")
})

test_that("the shared .h5ad files, whose obs has no columns, read with their 0.7-era categoricals", {
    path <- shared_file("pbmc1k_protein_v3_neurips_viash", "pbmc_1k_protein_v3.output_mod2.h5ad")
    skip_if_not(file.exists(path), "../shared/data is not beside the checkout")
    adt <- ReadH5AD(path)
    expect_equal(dim(adt$X), c(17L, 747L))  # CSC on disk
    expect_equal(ncol(adt$obs), 0)
    expect_equal(nrow(adt$obs), 747)
    expect_s3_class(adt$var$feature_types, "factor")
    expect_identical(levels(adt$var$feature_types), "ADT")
    expect_true(is.character(adt$var$gene_ids))
    expect_true(is.character(adt$uns$dataset_id))
})

test_that("every .h5ad file in ../shared/data reads, as a list, a Seurat object and a SingleCellExperiment", {
    files <- list.files(shared_file(), pattern = "[.]h5ad$", recursive = TRUE, full.names = TRUE)
    skip_if(length(files) == 0, "../shared/data is not beside the checkout")
    skip_if_not_installed("SeuratObject")
    skip_if_not_installed("SingleCellExperiment")
    with_matrix <- 0
    for (f in files) {
        ad <- ReadH5AD(f)
        expect_equal(nrow(ad$obs), if (is.null(ad$X)) nrow(ad$obs) else ncol(ad$X), info = f)
        if (is.null(ad$X) || min(dim(ad$X)) == 0) next
        with_matrix <- with_matrix + 1
        seurat <- suppressWarnings(ReadH5AD(f, as = "Seurat"))
        expect_equal(dim(seurat), dim(ad$X), info = f)
        sce <- ReadH5AD(f, as = "SingleCellExperiment")
        expect_equal(dim(sce), dim(ad$X), info = f)
        expect_identical(colnames(sce), rownames(ad$obs), info = f)
    }
    expect_gt(with_matrix, 20)
    # pbmc1k's two files (RNA counts, ADT counts) train together.
    rna <- ReadH5AD(shared_file("pbmc1k_protein_v3_neurips_viash", "pbmc_1k_protein_v3.output_rna.h5ad"))
    adt <- ReadH5AD(shared_file("pbmc1k_protein_v3_neurips_viash", "pbmc_1k_protein_v3.output_mod2.h5ad"))
    model <- RunMultigrade(list(rna = rna$X, adt = adt$X), likelihoods = c(rna = "nb", adt = "nb"), max_epochs = 2,
        seed = 1, verbose = FALSE, options = quick_options())
    expect_equal(dim(model$embedding), c(ncol(rna$X), 30L))
    expect_true(all(is.finite(model$embedding)))
})

test_that("the shared .h5mu file reads as a list, a Seurat object and a SingleCellExperiment, and trains", {
    path <- shared_file("multiome_pbmc_muon_tiny", "test_rna_atac.h5mu")
    skip_if_not(file.exists(path), "../shared/data is not beside the checkout")
    mu <- ReadH5MU(path)
    expect_named(mu$mod, c("atac", "rna"), ignore.order = TRUE)
    expect_equal(dim(mu$mod$rna$X), c(45L, 1000L))
    expect_equal(dim(mu$mod$atac$X), c(174L, 1000L))
    expect_true(is.logical(mu$obsm$rna) && all(mu$obsm$rna))
    expect_equal(nrow(mu$var), 219)
    expect_s3_class(mu$mod$atac$uns$atac$peak_annotation, "data.frame")
    skip_if_not_installed("SeuratObject")
    seurat <- suppressWarnings(ReadH5MU(path, as = "Seurat"))
    expect_setequal(SeuratObject::Assays(seurat), c("rna", "atac"))
    expect_equal(ncol(seurat), 1000)
    skip_if_not_installed("SingleCellExperiment")
    sce <- ReadH5MU(path, as = "SingleCellExperiment")
    expect_equal(SingleCellExperiment::altExpNames(sce), setdiff(names(mu$mod), names(mu$mod)[1]))
    mats <- lapply(mu$mod, `[[`, "X")
    mats$atac <- (mats$atac > 0) * 1  # peak counts, binarised for the bernoulli likelihood
    model <- RunMultigrade(mats, max_epochs = 2, seed = 1, verbose = FALSE,
        options = quick_options())
    expect_equal(dim(model$embedding), c(1000L, 30L))
    expect_true(all(is.finite(model$embedding)))
})

test_that("an AnnData written and read back keeps values, names, categories and types", {
    cite <- cite_data()
    cells <- colnames(cite$adt)
    obs <- typed_obs(cells)
    var <- data.frame(isotype = grepl("sotype", rownames(cite$adt)), row.names = rownames(cite$adt))
    pcs <- matrix(stats::rnorm(600 * 3), 600, 3, dimnames = list(cells, NULL))
    uns <- list(title = "CITE", seeds = c(1L, 2L), settings = list(k = 15, method = "knn"))
    path <- tempfile(fileext = ".h5ad")
    WriteH5AD(cite$adt_counts, path, obs = obs, var = var, layers = list(clr = cite$adt), obsm = list(X_pca = pcs),
        uns = uns)
    back <- ReadH5AD(path)
    expect_identical(back$X, methods::as(cite$adt_counts, "dgCMatrix"))
    expect_equal(back$layers$clr, cite$adt)
    expect_identical(back$obs, obs)
    expect_identical(back$var, var)
    expect_equal(back$obsm$X_pca, pcs)
    expect_equal(back$uns[names(uns)], uns)  # HDF5 lists a group's entries by name
    # The same file from the list it was read into, and a file without annotations.
    again <- tempfile(fileext = ".h5ad")
    WriteH5AD(back, again)
    expect_identical(ReadH5AD(again), back)
    bare <- tempfile(fileext = ".h5ad")
    WriteH5AD(cite$adt[1:5, 1:4], bare)
    expect_equal(dim(ReadH5AD(bare)$obs), c(4L, 0L))
    expect_error(WriteH5AD(cite$adt, path), "exists", class = "mg_error_file")
    expect_error(WriteH5AD(cite$adt, file.path(tempfile(), "x.h5ad")), "does not exist", class = "mg_error_file")
    expect_error(WriteH5AD(cite$adt, tempfile(), obs = obs[1:3, ]), "3 rows for 600")
})

test_that("Python's anndata reads what we write, and we read what it writes", {
    skip_if(is.null(anndata_python()), "Python's anndata is not installed (Debian: python3-anndata)")
    cite <- cite_data()
    cells <- colnames(cite$adt)[1:40]
    obs <- typed_obs(cells)
    ours <- tempfile(fileext = ".h5ad")
    WriteH5AD(cite$adt_counts[, cells], ours, obs = obs, layers = list(clr = cite$adt[, cells]),
        obsm = list(X_pca = matrix(seq_len(80) / 3, 40, 2, dimnames = list(cells, NULL))), uns = list(title = "CITE"))
    report <- run_python(c("import anndata, json, pandas as pd",
        sprintf("a = anndata.read_h5ad('%s')", ours),
        "print(json.dumps({'shape': list(a.shape), 'x_sum': float(a.X.sum()), 'clr_00': float(a.layers['clr'][0, 0]),",
        "  'obs_names': list(a.obs_names[:2]), 'var_names': list(a.var_names[:2]),",
        "  'dtypes': {c: str(a.obs[c].dtype) for c in a.obs.columns},",
        "  'donor_categories': list(a.obs['donor'].cat.categories), 'donor_missing': int(a.obs['donor'].isna().sum()),",
        "  'stage_ordered': bool(a.obs['stage'].cat.ordered), 'passed': [None if pd.isna(v) else bool(v) for v in a.obs['passed'][:3]],",
        "  'pca_10': float(a.obsm['X_pca'][1, 0]), 'title': str(a.uns['title'])}))"))
    skip_if_not_installed("jsonlite")
    py <- jsonlite::fromJSON(report[length(report)], simplifyVector = FALSE)
    expect_equal(unlist(py$shape), c(40, 134))
    expect_equal(py$x_sum, sum(cite$adt_counts[, cells]))
    expect_equal(py$clr_00, cite$adt[1, cells[1]], tolerance = 1e-12)
    expect_equal(unlist(py$obs_names), cells[1:2])
    expect_equal(unlist(py$var_names), rownames(cite$adt)[1:2])
    expect_equal(py$dtypes$donor, "category")
    expect_equal(py$dtypes$doublet, "bool")
    expect_equal(py$dtypes$depth, "float64")
    expect_equal(py$dtypes$barcode, "object")
    expect_equal(py$dtypes$passed, "boolean")  # pandas' nullable types
    expect_equal(py$dtypes$count, "Int32")  # R integers are 32-bit
    expect_equal(py$passed, list(TRUE, NULL, FALSE))
    expect_equal(unlist(py$donor_categories), c("d2", "d1"))
    expect_equal(py$donor_missing, sum(is.na(obs$donor)))
    expect_true(py$stage_ordered)
    expect_equal(py$pca_10, 2 / 3)
    expect_equal(py$title, "CITE")

    # A .h5mu: each modality is an AnnData for anndata (mudata itself is not in Debian).
    mu <- tempfile(fileext = ".h5mu")
    WriteH5MU(list(rna = cite$rna[, cells], adt = cite$adt[, cells]), mu, obs = obs)
    mods <- run_python(c("import h5py, json", "from anndata.experimental import read_elem",
        sprintf("f = h5py.File('%s', 'r')", mu),
        "m = {k: list(read_elem(f['mod'][k]).shape) for k in f['mod'].attrs['mod-order']}",
        "print(json.dumps({'mods': m, 'cells': int(read_elem(f['obs']).shape[0]), 'mask': bool(read_elem(f['obsm'])['adt'].all())}))"))
    mods <- jsonlite::fromJSON(mods[length(mods)], simplifyVector = FALSE)
    expect_equal(lapply(mods$mods, unlist), list(rna = c(40, 1000), adt = c(40, 134)))
    expect_equal(mods$cells, 40)
    expect_true(mods$mask)

    theirs <- tempfile(fileext = ".h5ad")
    run_python(c("import anndata, numpy as np, pandas as pd, scipy.sparse as sp",
        "X = sp.csr_matrix(np.array([[0, 1, 2], [3, 0, 0], [0, 0, 5], [1, 1, 1]], dtype=np.float32))",
        "obs = pd.DataFrame({'group': pd.Categorical(['a', 'b', 'a', None]), 'flag': [True, False, True, True],",
        "  'score': [0.5, 1.5, 2.5, 3.5], 'name': ['w', 'x', 'y', 'z'], 'n': pd.array([1, None, 3, 4], dtype='Int64')},",
        "  index=['c1', 'c2', 'c3', 'c4'])",
        "a = anndata.AnnData(X=X, obs=obs, var=pd.DataFrame(index=['g1', 'g2', 'g3']))",
        "a.layers['dense'] = X.toarray() * 2",
        "a.obsm['X_umap'] = np.arange(8, dtype=float).reshape(4, 2)",
        sprintf("a.write_h5ad('%s')", theirs)))
    read <- ReadH5AD(theirs)
    expect_equal(as.matrix(read$X), matrix(c(0, 3, 0, 1, 1, 0, 0, 1, 2, 0, 5, 1), 3, 4, byrow = TRUE,
        dimnames = list(c("g1", "g2", "g3"), c("c1", "c2", "c3", "c4"))))
    expect_equal(read$layers$dense, 2 * as.matrix(read$X))
    expect_identical(read$obs$group, factor(c("a", "b", "a", NA)))
    expect_identical(read$obs$flag, c(TRUE, FALSE, TRUE, TRUE))
    expect_identical(read$obs$name, c("w", "x", "y", "z"))
    expect_equal(read$obs$n, c(1, NA, 3, 4))
    expect_equal(unname(read$obsm$X_umap), matrix(0:7, 4, 2, byrow = TRUE))
})

test_that("Seurat objects and SingleCellExperiments go to .h5ad and .h5mu and come back", {
    skip_if_not_installed("SeuratObject")
    cite <- cite_data()
    seurat <- SeuratObject::CreateSeuratObject(counts = cite$rna, assay = "RNA", meta.data = cite$obs)
    seurat[["RNA"]] <- multigrade:::seurat_set_data(seurat[["RNA"]], log1p(cite$rna))
    seurat[["ADT"]] <- SeuratObject::CreateAssayObject(counts = cite$adt_counts)
    emb <- matrix(stats::rnorm(600 * 4), 600, 4, dimnames = list(colnames(cite$rna), paste0("mg_", 1:4)))
    seurat[["mg"]] <- SeuratObject::CreateDimReducObject(embeddings = emb, key = "mg_", assay = "RNA")
    path <- tempfile(fileext = ".h5ad")
    WriteH5AD(seurat, path)
    back <- ReadH5AD(path, as = "Seurat")
    expect_equal(multigrade:::seurat_matrix(back, "RNA", "counts"), cite$rna)
    expect_equal(multigrade:::seurat_matrix(back, "RNA", "data"), log1p(cite$rna))
    expect_identical(unname(back$cell_type), cite$obs$cell_type)
    expect_equal(unname(SeuratObject::Embeddings(back, "mg")), unname(emb))

    mu_path <- tempfile(fileext = ".h5mu")
    WriteH5MU(seurat, mu_path)
    mu <- ReadH5MU(mu_path)
    expect_named(mu$mod, c("RNA", "ADT"))
    expect_identical(mu$obs$batch, cite$obs$batch)
    expect_equal(mu$mod$ADT$X, cite$adt_counts)
    expect_true(all(mu$obsm$ADT))

    skip_if_not_installed("SingleCellExperiment")
    sce <- ReadH5MU(mu_path, as = "SingleCellExperiment")
    expect_equal(SingleCellExperiment::altExpNames(sce), "ADT")
    sce_path <- tempfile(fileext = ".h5ad")
    WriteH5AD(sce, sce_path)
    again <- ReadH5AD(sce_path, as = "SingleCellExperiment")
    expect_equal(SummarizedExperiment::assay(again, "X"), SummarizedExperiment::assay(sce, "X"))
    expect_identical(again$batch, sce$batch)
})
