#' Map query cells onto a trained multigrade reference
#'
#' Places new cells (unimodal or multimodal, any subset of the reference's
#' modalities) in the reference's latent space without retraining it, in the
#' scArches style of Multigrate: every covariate level the reference does not
#' know (e.g. the query's donor) gets a new embedding row, and only those rows
#' (and the dispersions of new `integrate_on` groups) learn. All reference
#' weights, including the embedding rows of known levels, stay bit-identical.
#' New rows start at the mean of the known rows, so that the network first treats
#' the query like an average reference donor. Query cells that lack some of the
#' reference's modalities are then anchored into the joint space by the
#' reference's own cells (see `n_anchors`): without that, a cell seen through
#' fewer modalities sits nearer the middle of its cell type than the reference
#' cells, which were embedded from all of theirs. With `refdata`, reference
#' labels are transferred to the query by a k-nearest-neighbour vote in the
#' latent space.
#'
#' @param object The query: a named list of feature x cell matrices (a subset of
#'   the reference's modalities, features matched by name), a `Seurat` object
#'   or a `SingleCellExperiment` (see [MapToReference.Seurat()]). A query from
#'   another panel may lack up to half of a modality's reference features (a
#'   classed warning, `mg_warning_missing_features`; more is an error): they are
#'   left out of the query's training loss (their expected value is pinned to 0
#'   there, so nothing is fitted to them), and since the reference's encoders
#'   have no input for absence, they see the model's expectation of the missing
#'   features given the measured ones (encoded, decoded, encoded again) instead
#'   of zeros, which would read as "not expressed". That expectation adds no
#'   evidence of its own. On the CITE-seq split with a quarter of the genes
#'   missing, label transfer gets 0.435 (0.392 with the genes given as
#'   measured zeros; 0.412 with the full panel); see
#'   `bench/quality/RESULTS.md`.
#' @param model The reference `multigrade_model` (from [RunMultigrade()],
#'   [LoadMultigrade()] or [GetMultigradeModel()]).
#' @param batch,continuous,present The query's covariates and presence mask,
#'   as in [RunMultigrade()]; `batch` must have the reference's covariates.
#' @param refdata Labels of the reference cells to transfer: a named list of
#'   vectors over the reference's training cells (in the order of
#'   `model$cells`, or named by cell).
#' @param n_neighbors Neighbours that vote in label transfer (formerly `k`). By default, per `refdata`
#'   entry, the number among 5, 10, 15, 30 and 50 whose vote recovers the
#'   reference's own labels best, each cell left out (few for fine labels with
#'   small classes). The mapping score uses 30.
#' @param n_anchors Reference cells that anchor each query cell seen through
#'   fewer modalities than the reference (an RNA-only query onto an RNA + ADT
#'   reference): the cell moves by the mean offset between the joint and the
#'   same-modality embeddings of its `n_anchors` nearest reference cells (in the
#'   space of its own modalities), so that it lands among the reference cells of
#'   its type instead of near their centre. 0 keeps the query's own posterior
#'   means. Formerly `k_anchor`.
#' @param max_epochs,batch_size,lr Training of the new embedding rows (by
#'   default as in [RunMultigrade()]).
#' @param device,seed,verbose As in [RunMultigrade()].
#' @param options [multigrade_options()] for the query training; by default the
#'   reference's, with `weight_decay = 0` as in Multigrate's tutorial.
#' @param ... Unused; the former names `k` and `k_anchor` still work, with
#'   a deprecation warning.
#' @return For a list: a list with
#'   * `embedding`: query cells x latent dimensions (posterior mean, anchored
#'     for cells with a subset of the reference's modalities, see `n_anchors`);
#'   * `predictions`: a data frame by query cell with `predicted.<label>`,
#'     `predicted.<label>.score` (the share of the `n_neighbors` reference neighbours that
#'     vote for the prediction) for each `refdata` entry, and `mapping.score`
#'     (how far the cell lies from its 30 nearest reference cells, all embedded
#'     from the modalities the cell has, against the same distance among
#'     reference cells: 1 up to the median reference cell's distance, falling
#'     to 0 beyond the farthest, so cells of types the reference lacks score
#'     low);
#'   * `model`: the reference extended with the query's levels, for
#'     [predict.multigrade_model()] and [ImputeModality()].
#' @seealso [ImputeModality()] to predict the modalities a query lacks.
#' @examples
#' cite <- multigrade_example("cite")
#' ref <- cite$obs$batch == "s1d1"
#' model <- RunMultigrade(list(rna = cite$rna[, ref], adt = cite$adt[, ref]),
#'     batch = cite$obs$batch[ref], max_epochs = 20, seed = 1, verbose = FALSE)
#' mapped <- MapToReference(list(rna = cite$rna[, !ref]), model,
#'     batch = cite$obs$batch[!ref], refdata = list(cell_type = cite$obs$cell_type[ref]),
#'     max_epochs = 10, seed = 1, verbose = FALSE)
#' head(mapped$predictions)
#' mean(mapped$predictions$predicted.cell_type == cite$obs$cell_type[!ref])
#' @export
MapToReference <- function(object, model, ...) {
    UseMethod("MapToReference")
}

#' @export
MapToReference.default <- function(object, model, ...) {
    mg_abort(c("{.fn MapToReference} needs a named list of matrices, a Seurat object or a SingleCellExperiment as {.arg object}.",
        "x" = "{.arg object} is a {.cls {class(object)}}."))
}

#' @rdname MapToReference
#' @export
MapToReference.list <- function(object, model, batch = NULL, continuous = NULL, present = NULL,
                                refdata = NULL, n_neighbors = NULL, n_anchors = 5L, max_epochs = NULL,
                                batch_size = NULL, lr = 3e-3, device = NULL, seed = NULL, verbose = TRUE,
                                options = NULL, ...) {
    renamed <- renamed_argument(list(...), "k", "n_neighbors", n_neighbors)
    n_neighbors <- renamed$value
    renamed <- renamed_argument(renamed$dots, "k_anchor", "n_anchors", n_anchors)
    n_anchors <- renamed$value
    check_dots_empty(renamed$dots)
    check_model(model)
    if (!is.null(n_neighbors)) check_count(n_neighbors)
    check_count(n_anchors, min = 0)
    if (!is.null(max_epochs)) check_count(max_epochs, min = 0)
    if (!is.null(batch_size)) check_count(batch_size, min = 2)
    check_number(lr, min = 0)
    options <- query_options(options, model)
    device <- resolve_device(device %||% model$device)
    seed <- draw_seed(seed)
    refdata <- check_refdata(refdata, model)
    data <- prepare_data(object, batch = batch, continuous = continuous, present = present,
        schema = model_schema(model), extend_levels = TRUE, missing_features = "pad", verbose = verbose)
    data <- fill_unmeasured(data, model, device, resolve_threads(options$n_threads))
    extension <- extend_model(model, data, max_epochs, batch_size, lr, seed, options, device, verbose)
    extended <- extension$model
    own <- extension$embedding %||% predict(extended, data = data)
    anchored <- anchor_to_reference(own, presence_matrix(data), model, n_anchors)
    predictions <- transfer_labels(anchored$embedding, model$embedding, refdata, n_neighbors)
    predictions$mapping.score <- mapping_scores(own, anchored$subset, model)
    list(embedding = anchored$embedding, predictions = predictions, model = extended)
}

# `model`: the reference with the query's new covariate levels learned, or the reference
# itself when the query brings no new level (then nothing needs training); `embedding`: the
# query cells' posterior means from the training session (NULL without training).
extend_model <- function(model, data, max_epochs, batch_size, lr, seed, options, device, verbose) {
    known <- lengths(model$covariates$categorical)
    added <- lengths(data$levels) - known
    if (!any(added > 0)) {
        mg_inform(c("i" = "The query's covariate levels are all known to the reference: mapping without training."),
            verbose)
        return(list(model = model, embedding = NULL))
    }
    new_levels <- Map(function(all, n) utils::tail(all, n), data$levels, added)
    mg_inform(c("i" = "New level{?s} {.val {unlist(new_levels[added > 0])}} get{?s/} embedding rows; the reference weights stay frozen."),
        verbose)
    # The reference's network grown to the query's schema: more levels, the rest the same.
    schema <- data_schema(data)
    config <- utils::modifyList(model$config, schema_dimensions(schema))
    schedule <- training_schedule(length(data$cells), options$train_size, batch_size, max_epochs)
    train_config <- core_train_config(data, schedule$max_epochs, schedule$batch_size, lr, seed, options)
    fit <- fit_model(data, config, train_config, device, options$n_threads, verbose, reference = model$weights,
        encode = list(names(data$modalities)))
    extended <- model
    extended$config <- config
    extended$weights <- fit$weights
    extended$covariates <- schema_covariates(schema)
    extended$queries <- c(model$queries, list(list(new_levels = new_levels[added > 0],
        n_cells = length(data$cells), n_trainable = fit$n_trainable, history = fit$history,
        seed = seed, seconds = fit$seconds)))
    list(model = extended, embedding = fit$embeddings[[1]])
}

query_options <- function(options, model) {
    if (is.null(options)) {
        options <- do.call(multigrade_options, model$options[intersect(names(model$options),
            names(formals(multigrade_options)))])
        options$weight_decay <- 0
    }
    if (!inherits(options, "multigrade_options")) {
        mg_abort("{.arg options} must come from {.fn multigrade_options}.")
    }
    options
}

check_model <- function(model, call = rlang::caller_env()) {
    if (!inherits(model, "multigrade_model")) {
        mg_abort(c("{.arg model} must be a {.cls multigrade_model}.",
            "i" = "Train one with {.fn RunMultigrade}, or get it with {.fn GetMultigradeModel} or {.fn LoadMultigrade}."),
            class = "model", call = call)
    }
}
