# Run by test-seurat5.R in a child R process whose library path starts with a SeuratObject 5
# library (scripts/setup-seurat5.sh). Builds Seurat v5 objects from the bundled CITE data
# (Assay5 layers, RNA split by donor, ADT measured on a subset of cells), runs multigrade and
# writes what the test checks to an RDS file.
args <- commandArgs(trailingOnly = TRUE)
out_file <- args[1]
suppressPackageStartupMessages({
    library(SeuratObject)
    library(multigrade)
})
cite <- multigrade_example("cite")
obs <- cite$obs
options(Seurat.object.assay.version = "v5")
obj <- CreateSeuratObject(counts = CreateAssay5Object(counts = cite$rna), meta.data = obs)
# Split layers (counts.<donor>), as after split(); multigrade must join them in cell order.
obj[["RNA"]] <- split(obj[["RNA"]], f = obj$batch)
# ADT measured on the first 80% of cells only: an assay on a subset of cells (mosaic).
adt_cells <- colnames(cite$adt)[seq_len(floor(0.8 * ncol(cite$adt)))]
obj[["ADT"]] <- CreateAssay5Object(data = cite$adt[, adt_cells])
set.seed(7)
obj <- RunMultigrade(obj, likelihoods = c(RNA = "nb", ADT = "mse"), batch = "batch",
    max_epochs = 5, batch_size = 64, verbose = FALSE,
    options = multigrade_options(n_hidden_encoder = 32L, n_hidden_decoder = 32L, n_threads = 2L))
model <- GetMultigradeModel(obj)
emb <- Embeddings(obj, "multigrade")
# The same model embeds the cells from plain matrices: the v5 reader must hand it the same
# data in the same cell order.
direct <- predict(model, list(RNA = cite$rna, ADT = cite$adt), batch = obs$batch)
# Seurat's conventions on a v5 object, and a round trip through .h5ad.
command <- Command(obj, "RunMultigrade")
h5ad <- tempfile(fileext = ".h5ad")
WriteH5AD(obj, h5ad, assay = "RNA")
back <- ReadH5AD(h5ad)
saveRDS(list(
    command_batch = command$batch, stdev = Stdev(obj[["multigrade"]]),
    h5ad_counts_equal = isTRUE(all.equal(back$X, LayerData(JoinLayers(obj[["RNA"]]), "counts")[, colnames(obj)])),
    h5ad_batch = back$obs$batch, obs_batch = obj$batch, h5ad_embedding = back$obsm$X_multigrade,
    seurat_object_version = as.character(packageVersion("SeuratObject")),
    matrix_version = as.character(packageVersion("Matrix")),
    assay_class = class(obj[["RNA"]])[1],
    rna_layers = Layers(obj[["RNA"]]),
    cells = colnames(obj), embedding = emb,
    adt_cells_trained = model$modalities$ADT$n_cells,
    n_adt_cells = length(adt_cells),
    direct_adt_cells = direct[adt_cells, , drop = FALSE], seurat_adt_cells = emb[adt_cells, , drop = FALSE]),
    out_file)
