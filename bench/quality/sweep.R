# One setting at a time: the defaults with one argument of RunMultigrade() or option of
# multigrade_options() set to each given value, on every benchmark dataset (integration) and
# on the CITE split (RNA-only query: imputed ADT and label transfer; ADT-only query: label
# transfer), scored by bench/quality/metrics.R. For settings that ablation.R does not cover.
#
#   Rscript bench/quality/sweep.R <setting> <value> [value ...]
#   e.g. Rscript bench/quality/sweep.R integ_coef 1 30 300 3000
#        Rscript bench/quality/sweep.R latent_dim 30 64
#
# Prints one line per dataset and value: the metrics' means over seeds 1-3.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
options(multigrade.verbose = FALSE)

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript bench/quality/sweep.R <setting> <value> [value ...]")
setting <- args[1]
values <- utils::type.convert(args[-1], as.is = TRUE)
seeds <- 1:3
is_option <- setting %in% names(formals(multigrade_options))

fit <- function(mods, batch, seed, value) {
    extra <- stats::setNames(list(value), setting)
    call_args <- list(mods, batch = batch, seed = seed, verbose = FALSE)
    call_args <- if (is_option) c(call_args, list(options = do.call(multigrade_options, extra))) else c(call_args, extra)
    suppressWarnings(do.call(RunMultigrade, call_args))
}

report <- function(dataset, value, scores) {
    cat(sprintf("%-13s %s %-6s %s\n", dataset, setting, format(value),
        paste(rownames(scores), sprintf("%.3f", rowMeans(scores, na.rm = TRUE)), collapse = " ")))
}

data <- load_datasets()
for (value in values) {
    for (ds in names(data)) {
        d <- data[[ds]]
        batch <- if ("batch" %in% names(d$obs)) d$obs$batch else NULL
        report(ds, value, vapply(seeds, function(seed) {
            integration_metrics(fit(d$mods, batch, seed, value)$embedding, d$obs$cell_type, batch)
        }, numeric(5)))
    }
    d <- data$cite
    s <- split_donors(d)
    labels <- as.character(d$obs$cell_type)
    report("cite split", value, vapply(seeds, function(seed) {
        model <- fit(lapply(d$mods, function(x) x[, s$ref]), d$obs$batch[s$ref], seed, value)
        map <- function(mod) {
            MapToReference(lapply(d$mods[mod], function(x) x[, s$query]), model, batch = d$obs$batch[s$query],
                refdata = list(cell_type = labels[s$ref]), seed = seed, verbose = FALSE)
        }
        rna <- map("rna")
        adt <- map("adt")
        imputed <- ImputeModality(list(rna = d$mods$rna[, s$query]), rna$model, target = "adt",
            batch = d$obs$batch[s$query])
        c(imputation_rmse = imputation_scores(imputed, d$mods$adt[, s$query])[["rmse"]],
            rna_labels = mean(rna$predictions$predicted.cell_type == labels[s$query]),
            adt_labels = mean(adt$predictions$predicted.cell_type == labels[s$query]))
    }, numeric(3)))
}
