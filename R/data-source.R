# Where training reads its cells: prepared data held whole (one part), or a data set streamed
# in parts (chunks of an .h5ad file larger than memory) that the training session holds one
# at a time. An epoch is one pass over every part either way (see Trainer::train_part() in
# src/core/api.h), so epochs, the KL warm-up and the history mean the same for both.

# `data`: the first part (prepared, as prepare_data() gives it), which the session starts
# with; `load(k)`: prepares part k of `n_parts`; `n_cells`: cells over all parts.
data_source <- function(data, n_parts = 1L, load = NULL, n_cells = length(data$cells)) {
    structure(list(data = data, n_parts = as.integer(n_parts), load = load, n_cells = n_cells),
        class = "mg_data_source")
}

as_data_source <- function(x) if (inherits(x, "mg_data_source")) x else data_source(x)

# The function that runs one epoch of `session` over the source: all its data in one call,
# or each part in an order drawn from the training seed and the epoch (the same on every
# data-parallel rank), loaded into the session in turn (it starts holding the first; `cluster`:
# each rank takes its share of every part), then the epoch closed. Returns the epoch's
# statistics.
epoch_runner <- function(source, session, seed = 0, cluster = NULL) {
    if (source$n_parts == 1L) return(function() mg_trainer_epoch(session))
    loaded <- 1L
    epoch <- 0L
    function() {
        epoch <<- epoch + 1L
        for (k in with_seed((seed + epoch) %% .Machine$integer.max, sample.int(source$n_parts))) {
            if (k != loaded) mg_trainer_set_data(session, core_data(shard_data(source$load(k), cluster)))
            loaded <<- k
            if (!mg_trainer_part(session)) break
        }
        mg_trainer_end_epoch(session)
    }
}
