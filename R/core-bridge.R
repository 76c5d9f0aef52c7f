# Builds the plain lists the C++ glue reads (src/r_convert.cpp) from R-side objects.

core_model_config <- function(data, latent_dim, options) {
    weights <- modality_coefficients(options$modality_weights, data$modalities)
    modalities <- lapply(names(data$modalities), function(nm) {
        m <- data$modalities[[nm]]
        list(name = nm, n_features = length(m$features), likelihood = m$likelihood,
            log_input = options$log_input && m$likelihood %in% count_likelihoods,
            coef = weights[[nm]],
            n_layers_encoder = options$n_layers_encoder,
            n_hidden_encoder = options$n_hidden_encoder,
            n_layers_decoder = options$n_layers_decoder,
            n_hidden_decoder = options$n_hidden_decoder)
    })
    names(modalities) <- names(data$modalities)
    dims <- schema_dimensions(data_schema(data))
    list(modalities = modalities, latent_dim = as.integer(latent_dim),
        cond_dim = options$cond_dim,
        categorical_levels = dims$categorical_levels,
        n_continuous = length(data$continuous), n_groups = dims$n_groups,
        dropout = options$dropout, condition_encoders = options$condition_encoders,
        condition_decoders = options$condition_decoders, mixing = options$mixing,
        prior_expert = options$prior_expert %||% TRUE)
}

# Weight of each modality's reconstruction loss. "balanced": the largest modality (most
# features) weighs 1 and every other modality as much in total, i.e. its per-feature loss
# counts (largest / own number of features) times: summed over features, 1000 genes would
# otherwise drown 134 proteins (measured: RNA-only cells then imputed protein barely better
# than its mean, bench/quality/RESULTS.md). NULL: 1 each (the reference); a named vector:
# those weights, 1 for modalities it leaves out.
modality_coefficients <- function(weights, modalities) {
    n_features <- vapply(modalities, function(m) length(m$features), numeric(1))
    if (identical(weights, "balanced")) return(as.list(max(n_features) / n_features))
    out <- as.list(rep(1, length(modalities)))
    names(out) <- names(modalities)
    for (nm in intersect(names(weights), names(out))) out[[nm]] <- weights[[nm]]
    out
}

core_train_config <- function(data, max_epochs, batch_size, lr, seed, options) {
    integrating <- !is.null(data$integrate_on)
    list(max_epochs = as.integer(max_epochs), batch_size = as.integer(batch_size),
        lr = lr, weight_decay = options$weight_decay, adam_eps = options$adam_eps,
        train_size = options$train_size, early_stopping = options$early_stopping,
        patience = options$patience,
        n_epochs_kl_warmup = as.integer(options$n_epochs_kl_warmup %||% -1L),
        recon_coef = options$recon_coef, kl_coef = options$kl_coef,
        integ_coef = if (integrating || options$alignment %in% c("marginal", "both")) options$integ_coef else 0,
        alignment = options$alignment,
        stratified_batches = options$stratified_batches && integrating,
        modality_dropout = options$modality_dropout %||% 0,
        consistency_coef = options$consistency_coef %||% 0,
        # Options saved before these existed read as the defaults.
        data_placement = options$data_placement %||% "auto",
        matmul_precision = options$matmul_precision %||% "highest",
        keyed_draws = identical(options$draws, "keyed"),
        distributed = core_distributed_config(options$distributed),
        seed = as.double(seed))
}

core_data <- function(data) {
    modalities <- lapply(data$modalities, function(m) {
        # feature_present: NULL (all measured) or one flag per feature (see align_to_schema);
        # encoder_fill: NULL (zeros) or what the encoders see for the unmeasured features
        # (see fill_unmeasured).
        values <- if (m$sparse) list(sparse = TRUE, p = m$data@p, i = m$data@i, x = m$data@x) else
            list(sparse = FALSE, x = m$data)
        c(values, list(present = m$present, feature_present = m$feature_present, encoder_fill = m$encoder_fill))
    })
    list(n_cells = length(data$cells), modalities = unname(modalities),
        categorical = unname(lapply(data$categorical, as.integer)),
        continuous = unname(data$continuous),
        group = if (is.null(data$group)) NULL else as.integer(data$group))
}

# A seed for LibTorch from R's RNG, so that set.seed() reproduces a run.
draw_seed <- function(seed) {
    if (!is.null(seed)) {
        check_count(seed, min = 0)
        return(as.double(seed))
    }
    as.double(sample.int(.Machine$integer.max, 1L))
}

resolve_device <- function(device, call = rlang::caller_env()) {
    if (!is.character(device) || length(device) != 1) {
        mg_abort("{.arg device} must be {.val auto}, {.val cpu} or {.val cuda}.", call = call)
    }
    tryCatch(mg_resolve_device(device), error = function(e) {
        mg_abort(c("Cannot use device {.val {device}}.", "x" = conditionMessage(e),
            "i" = "Use {.code device = \"cpu\"}, or see {.fn multigrade_torch_info}."), call = call)
    })
}
