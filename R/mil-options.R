#' Advanced settings for MultiMIL
#'
#' Architecture and training settings of [RunMultiMIL()]. The defaults are
#' those of the reference `MILClassifier` (MultiMIL v1): a one-block cell
#' transform, gated attention of width 16, heads of width 128 with two layers,
#' dropout 0.2, AdamW with weight decay 1e-3, bags of 128 cells with two bags
#' per step, and early stopping with patience 50 when there are validation
#' samples.
#'
#' @param attention_dim Width of the attention network.
#' @param n_layers_cell FC blocks of the cell transform (input width to input width).
#' @param n_layers_head Layers of the prediction head (the last is linear).
#' @param n_hidden_head Width of the head's hidden layers.
#' @param dropout Dropout rate of the cell transform and the head.
#' @param weight_decay AdamW weight decay.
#' @param bag_size Cells per training bag: a larger sample is split into random
#'   bags of about this size in each epoch; a smaller one is a single bag (no
#'   sample is dropped). Prediction always uses whole samples.
#' @param bags_per_step Bags per optimiser step.
#' @param early_stopping,patience Stop when the validation loss has not
#'   improved for `patience` epochs (only with validation samples), and keep the
#'   best weights.
#' @param n_threads CPU threads.
#' @return A `multimil_options` list.
#' @examples
#' mil_options(attention_dim = 32, dropout = 0.1)
#' @export
mil_options <- function(attention_dim = 16L, n_layers_cell = 1L, n_layers_head = 2L,
                        n_hidden_head = 128L, dropout = 0.2, weight_decay = 1e-3,
                        bag_size = 128L, bags_per_step = 2L, early_stopping = TRUE,
                        patience = 50L, n_threads = default_threads()) {
    check_count(attention_dim)
    check_count(n_layers_cell, min = 0)
    check_count(n_layers_head)
    check_count(n_hidden_head)
    check_number(dropout, min = 0, max = 0.99)
    check_number(weight_decay, min = 0)
    check_count(bag_size, min = 2)
    check_count(bags_per_step)
    check_count(patience)
    check_count(n_threads)
    if (!is.logical(early_stopping) || length(early_stopping) != 1 || is.na(early_stopping)) {
        mg_abort("{.arg early_stopping} must be TRUE or FALSE.")
    }
    structure(list(attention_dim = as.integer(attention_dim), n_layers_cell = as.integer(n_layers_cell),
        n_layers_head = as.integer(n_layers_head), n_hidden_head = as.integer(n_hidden_head),
        dropout = dropout, weight_decay = weight_decay, bag_size = as.integer(bag_size),
        bags_per_step = as.integer(bags_per_step), early_stopping = early_stopping,
        patience = as.integer(patience), n_threads = as.integer(n_threads)),
        class = "multimil_options")
}

#' @export
print.multimil_options <- function(x, ...) {
    cat("<multimil_options>\n")
    for (nm in names(x)) cat("  ", nm, ": ", format(x[[nm]]), "\n", sep = "")
    invisible(x)
}
