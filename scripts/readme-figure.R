# Draws man/figures/README-embedding.png, the README's picture: the bundled CITE subset's
# joint embedding at the package defaults (seed 1), UMAP coloured by cell type and by donor.
#   Rscript scripts/readme-figure.R
suppressPackageStartupMessages(library(multigrade))
cite <- multigrade_example("cite")
model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, seed = 1, verbose = FALSE)
types <- PlotEmbedding(model, cite$obs$cell_type) + ggplot2::theme(legend.position = "none") +
    ggplot2::ggtitle("41 cell types")
donors <- PlotEmbedding(model, cite$obs$batch) + ggplot2::ggtitle("2 donors")
grDevices::png("man/figures/README-embedding.png", width = 1400, height = 640, res = 150)
grid::grid.newpage()
grid::pushViewport(grid::viewport(layout = grid::grid.layout(1, 2)))
print(types, vp = grid::viewport(layout.pos.row = 1, layout.pos.col = 1))
print(donors, vp = grid::viewport(layout.pos.row = 1, layout.pos.col = 2))
invisible(grDevices::dev.off())
