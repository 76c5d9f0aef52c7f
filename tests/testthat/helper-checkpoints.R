# Settings shared by test-checkpoints.R and the child process it kills
# (scripts/checkpoint-run.R sources this file).
checkpoint_epochs <- 60L
checkpoint_input <- function(cite) list(rna = cite$rna, adt = cite$adt)
checkpoint_options <- function() {
    multigrade_options(n_hidden_encoder = 32L, n_hidden_decoder = 32L, n_threads = 2L, early_stopping = FALSE,
        checkpoint_every = 2L)
}
