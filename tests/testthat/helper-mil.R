# Helpers of the MultiMIL tests (test-mil*.R): planted cohorts of real CITE cells.

# Samples drawn from one donor's real cells: "disease" samples hold `enriched` of the
# target cell type, controls `base`. Cell names are unique per sample.
planted_cohort <- function(embedding, cell_type, donor_cells, n_samples, prefix, target = "CD14+ Mono",
                           n_cells = 60, enriched = 0.35, base = 0.05, disease = NULL) {
    is_target <- cell_type[donor_cells] == target
    targets <- donor_cells[is_target]
    others <- donor_cells[!is_target]
    if (is.null(disease)) disease <- rep(c(FALSE, TRUE), length.out = n_samples)
    parts <- lapply(seq_len(n_samples), function(s) {
        n_target <- round(n_cells * if (disease[s]) enriched else base)
        cells <- c(sample(targets, n_target), sample(others, n_cells - n_target))
        emb <- embedding[cells, , drop = FALSE]
        rownames(emb) <- paste0(prefix, s, "_", cells)
        list(emb = emb, sample = rep(paste0(prefix, s), n_cells),
            label = rep(if (disease[s]) "disease" else "control", n_cells),
            is_target = cell_type[cells] == target)
    })
    list(embedding = do.call(rbind, lapply(parts, `[[`, "emb")),
        sample = unlist(lapply(parts, `[[`, "sample")), label = unlist(lapply(parts, `[[`, "label")),
        is_target = unlist(lapply(parts, `[[`, "is_target")))
}

# The CITE cells in the latent space of the model trained on both donors, by donor.
cite_cells <- function() {
    cite <- cite_data()
    embedding <- cite_model()$embedding
    list(embedding = embedding,
        cell_type = stats::setNames(as.character(cite$obs$cell_type), rownames(embedding)),
        s1d1 = rownames(embedding)[cite$obs$batch == "s1d1"], s1d2 = rownames(embedding)[cite$obs$batch == "s1d2"])
}

cite_cohorts <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            cells <- cite_cells()
            set.seed(7)
            cache <<- list(
                train = planted_cohort(cells$embedding, cells$cell_type, cells$s1d1, 20, "train"),
                test = planted_cohort(cells$embedding, cells$cell_type, cells$s1d2, 12, "test"))
        }
        cache
    }
})

# Fraction of the target type among each disease sample's top 10% attention cells.
top_target_fraction <- function(attention, cohort) {
    disease <- cohort$label == "disease"
    top <- multigrade:::top_attention_cells(attention[rownames(cohort$embedding)], cohort$sample, 0.1)
    mean(cohort$is_target[top & disease])
}
