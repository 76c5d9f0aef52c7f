# Realistic synthetic multimodal data for speed and scale tests: negative binomial RNA
# counts from a low-rank cell-state structure with donor effects (sparse), and CLR-like
# protein values driven by the same states.
simulate_multimodal <- function(n_cells, n_genes = 4000, n_proteins = 134, n_states = 10,
                                n_donors = 4, rank = 8, seed = 1) {
    set.seed(seed)
    state <- sample.int(n_states, n_cells, replace = TRUE)
    donor <- sample.int(n_donors, n_cells, replace = TRUE)
    state_factors <- matrix(rnorm(n_states * rank), n_states, rank)
    gene_loadings <- matrix(rnorm(rank * n_genes, sd = 0.6), rank, n_genes)
    donor_shift <- matrix(rnorm(n_donors * n_genes, sd = 0.3), n_donors, n_genes)
    base <- rnorm(n_genes, mean = -1.5, sd = 1.2)
    log_mu <- sweep(state_factors[state, ] %*% gene_loadings + donor_shift[donor, ], 2, base, "+")
    library_size <- exp(rnorm(n_cells, log(2000), 0.4))
    mu <- exp(log_mu)
    mu <- mu / rowSums(mu) * library_size
    counts <- matrix(rnbinom(length(mu), mu = mu, size = 2), n_cells, n_genes)
    rna <- Matrix::Matrix(t(counts), sparse = TRUE)
    protein_loadings <- matrix(rnorm(rank * n_proteins), rank, n_proteins)
    adt <- t(state_factors[state, ] %*% protein_loadings + matrix(rnorm(n_cells * n_proteins, sd = 0.5), n_cells))
    cells <- paste0("cell", seq_len(n_cells))
    dimnames(rna) <- list(paste0("gene", seq_len(n_genes)), cells)
    dimnames(adt) <- list(paste0("protein", seq_len(n_proteins)), cells)
    list(rna = methods::as(rna, "dgCMatrix"), adt = adt,
        obs = data.frame(state = factor(state), donor = factor(paste0("donor", donor)), row.names = cells))
}
