#' Advanced settings for RunMultigrade
#'
#' Everything that is not a main argument of [RunMultigrade()]. The defaults
#' were chosen on every real dataset of the quality benchmark
#' (`bench/quality/RESULTS.md`), not on one, and depart from the reference
#' implementation (Multigrate's `MultiVAE`) where that measured better: one FC
#' block per encoder and decoder instead of two, the product of experts without
#' the prior as an expert, modality losses balanced by their number of
#' features, and modality dropout. Other departures fix the reference's known
#' quirks: the embedding is the posterior mean, early stopping restores the best
#' weights, MMD alignment is on whenever there is an `integrate_on` covariate,
#' count modalities are log1p-transformed on the encoder side and size factors
#' are computed per count modality. `multigrade_options(n_layers_encoder = 2L,
#' n_layers_decoder = 2L, prior_expert = TRUE, modality_weights = NULL,
#' modality_dropout = 0)` with `latent_dim = 16`, `batch_size = 256`,
#' `max_epochs = 200` and `lr = 5e-4` comes close to the reference.
#'
#' @param n_layers_encoder,n_hidden_encoder Blocks and width of each encoder
#'   (with one block, the encoder maps straight to the latent width).
#' @param n_layers_decoder,n_hidden_decoder Blocks and width of each decoder.
#'   One block each beat two on every benchmark dataset of a few hundred cells.
#' @param cond_dim Width of each covariate embedding.
#' @param dropout Dropout rate of every block.
#' @param mixing `"product"` (product of experts) or `"mixture"` (the
#'   reference's weighted average of experts).
#' @param prior_expert For `"product"`: count the N(0, I) prior as one more
#'   expert, as the reference does. That pulls a cell seen through one modality
#'   nearer the origin than the same cell seen through two, so unimodal queries
#'   land apart from paired reference cells; `FALSE` (default) combines the
#'   measured experts only (a cell with none still gets the prior).
#' @param condition_encoders,condition_decoders Feed covariate embeddings to
#'   the encoders / decoders.
#' @param log_input Encoders see `log1p(x)` for count (`nb`, `zinb`, `nbmixture`)
#'   modalities. The reference feeds raw counts; `FALSE` reproduces that.
#' @param modality_weights Weights of each modality's reconstruction loss:
#'   `"balanced"` (default: the modality with the most features weighs 1 and
#'   every other as much in total, i.e. 1000 genes and 134 proteins give the
#'   protein loss weight 7.5; summed over features the genes would otherwise
#'   drown the proteins), `NULL` (1 each, the reference) or a named numeric
#'   vector (1 for modalities it leaves out).
#' @param alignment MMD alignment: `"latent"` (joint latent across
#'   `integrate_on` groups), `"marginal"` (per-modality latents), `"both"` or
#'   `"none"`.
#' @param integ_coef Weight of the MMD term.
#' @param kl_coef,recon_coef Weights of the KL and reconstruction terms.
#' @param consistency_coef Weight of a term that pulls each measured
#'   modality's expert towards the consensus of the cell's experts (cells with
#'   at least two modalities; scale-free). Off by default: on the benchmark it
#'   did not help query mapping beyond what modality dropout and
#'   [MapToReference()]'s anchoring give, and cost cell-type separation on the
#'   Multiome data.
#' @param weight_decay,adam_eps AdamW settings.
#' @param train_size Fraction of cells used for training; the rest is the
#'   validation set for early stopping.
#' @param early_stopping,patience Stop when the validation reconstruction loss
#'   has not improved for `patience` epochs; the best weights are kept.
#' @param n_epochs_kl_warmup Epochs of linear KL warm-up (default
#'   `max_epochs %/% 3`).
#' @param stratified_batches Use the reference's sampler when integrating:
#'   each minibatch holds two halves from (at most) two `integrate_on` groups.
#' @param modality_dropout Probability of hiding each measured modality of a
#'   cell from the encoders in a training step (at least one stays), so that
#'   the posterior from any subset of modalities must reconstruct all of them
#'   (subset training). Not part of Multigrate (0 reproduces it); it is what
#'   lets RNA-only cells impute protein (CITE split: RMSE 0.50 at the defaults)
#'   and it has no effect on data with one modality.
#' @param data_placement Where training minibatches are assembled: `"auto"`
#'   (on the GPU when training there and the data fit in its memory, else from
#'   the host copy), `"device"` (copy all data to the training device once and
#'   gather each minibatch there: no per-step copies; an error if the data do
#'   not fit) or `"host"` (gather on the host and copy each minibatch). On the
#'   CPU, `"auto"` and `"host"` use the fused sparse kernels; `"device"` runs
#'   the GPU's code path there (slower; for checking it).
#' @param matmul_precision Matrix products in training: `"highest"` (float32)
#'   or `"high"` (TF32 tensor cores on CUDA GPUs: faster, with about three
#'   significant digits in each product; embedding and imputation stay
#'   float32). CPU training is not affected.
#' @param n_threads CPU threads for LibTorch (default: the option
#'   `multigrade.n_threads`; else one thread for minibatches of up to 64 cells,
#'   whose small matrix products ran faster on one, and otherwise the number of
#'   cores, at most 8).
#' @param checkpoint_every With `RunMultigrade(checkpoint_dir =)`: write a
#'   checkpoint every this many epochs (and when training is interrupted).
#' @param distributed `NULL` (training in this process) or a
#'   [multigrade_cluster()]: data-parallel training, this process being one of
#'   several ranks (see [multigrade_cluster()]).
#' @param draws Where training's random draws (dropout masks, modality dropout,
#'   posterior samples) come from: `"device"` (default: the training device's
#'   generator) or `"keyed"` (each cell's draws are a hash of the seed, the
#'   step and the cell's position in the data, so a data-parallel run over any
#'   number of ranks takes exactly the steps of one process with the same seed;
#'   a little slower on the CPU, noticeably on GPUs).
#' @return A list of class `multigrade_options`.
#' @examples
#' opts <- multigrade_options(dropout = 0.1, integ_coef = 10)
#' opts$dropout
#' @export
multigrade_options <- function(n_layers_encoder = 1L, n_hidden_encoder = 128L,
                               n_layers_decoder = 1L, n_hidden_decoder = 128L,
                               cond_dim = 16L, dropout = 0.2,
                               mixing = c("product", "mixture"), prior_expert = FALSE,
                               condition_encoders = TRUE,
                               condition_decoders = TRUE, log_input = TRUE,
                               modality_weights = "balanced",
                               alignment = c("latent", "marginal", "both", "none"),
                               integ_coef = 1, kl_coef = 1e-5, recon_coef = 1,
                               weight_decay = 1e-3, adam_eps = 1e-8,
                               train_size = 0.9, early_stopping = TRUE,
                               patience = 10L, n_epochs_kl_warmup = NULL,
                               stratified_batches = TRUE, modality_dropout = 0.3,
                               consistency_coef = 0,
                               data_placement = c("auto", "device", "host"),
                               matmul_precision = c("highest", "high"),
                               n_threads = NULL, checkpoint_every = 10L,
                               distributed = NULL, draws = c("device", "keyed")) {
    mixing <- match.arg(mixing)
    draws <- match.arg(draws)
    if (!is.null(distributed) && !inherits(distributed, "multigrade_cluster")) {
        mg_abort("{.arg distributed} must be {.code NULL} or come from {.fn multigrade_cluster}.")
    }
    alignment <- match.arg(alignment)
    data_placement <- match.arg(data_placement)
    matmul_precision <- match.arg(matmul_precision)
    check_count(n_layers_encoder, min = 0)
    check_count(n_layers_decoder, min = 0)
    check_count(n_hidden_encoder)
    check_count(n_hidden_decoder)
    check_count(cond_dim)
    check_count(patience)
    if (!is.null(n_epochs_kl_warmup)) check_count(n_epochs_kl_warmup)
    check_number(dropout, min = 0, max = 0.99)
    check_number(modality_dropout, min = 0, max = 0.99)
    check_number(consistency_coef, min = 0)
    check_number(train_size, min = 0.01, max = 1)
    for (nm in c("integ_coef", "kl_coef", "recon_coef", "weight_decay")) {
        check_number(get(nm), min = 0, arg = nm)
    }
    check_number(adam_eps, min = 0)
    if (!identical(modality_weights, "balanced") && !is.null(modality_weights) &&
        (!is.numeric(modality_weights) || is.null(names(modality_weights)) ||
         any(!is.finite(modality_weights)) || any(modality_weights < 0))) {
        mg_abort("{.arg modality_weights} must be {.val balanced}, {.code NULL} or a named vector of non-negative numbers.")
    }
    if (!is.null(n_threads)) check_count(n_threads)
    check_count(checkpoint_every)
    structure(list(n_layers_encoder = as.integer(n_layers_encoder),
        n_hidden_encoder = as.integer(n_hidden_encoder),
        n_layers_decoder = as.integer(n_layers_decoder),
        n_hidden_decoder = as.integer(n_hidden_decoder),
        cond_dim = as.integer(cond_dim), dropout = dropout, mixing = mixing,
        prior_expert = isTRUE(prior_expert),
        condition_encoders = isTRUE(condition_encoders),
        condition_decoders = isTRUE(condition_decoders),
        log_input = isTRUE(log_input),
        modality_weights = modality_weights,
        alignment = alignment, integ_coef = integ_coef, kl_coef = kl_coef,
        recon_coef = recon_coef, weight_decay = weight_decay,
        adam_eps = adam_eps, train_size = train_size,
        early_stopping = isTRUE(early_stopping),
        patience = as.integer(patience),
        n_epochs_kl_warmup = n_epochs_kl_warmup,
        stratified_batches = isTRUE(stratified_batches),
        modality_dropout = modality_dropout, consistency_coef = consistency_coef,
        data_placement = data_placement, matmul_precision = matmul_precision,
        n_threads = if (is.null(n_threads)) NULL else as.integer(n_threads),
        checkpoint_every = as.integer(checkpoint_every), distributed = distributed, draws = draws),
        class = "multigrade_options")
}

#' @export
print.multigrade_options <- function(x, ...) {
    cli::cli_text("{.cls multigrade_options}")
    shown <- vapply(x, function(v) {
        if (is.null(v)) return("default")
        if (inherits(v, "multigrade_cluster")) return(sprintf("rank %d of %d", v$rank, v$world_size))
        paste(format(v), collapse = ", ")
    }, character(1))
    cli::cli_dl(stats::setNames(as.list(shown), names(x)))
    invisible(x)
}
