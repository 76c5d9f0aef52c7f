# The quality benchmark: multigrade at its defaults beside the tools a user would pick
# instead, on every real dataset of ../shared/data and a semi-synthetic one, with metrics
# computed by bench/quality/metrics.R (independent of the package).
#
#   Rscript bench/quality/run.R [seeds=3] [out=bench/quality/results] [tasks=integration,mapping,imputation,score]
#
# Writes one CSV per task (a row per method, dataset, seed) and summary.md (mean and sd over
# seeds). bench/quality/RESULTS.md quotes a run. Needs the package installed, Seurat (Debian's
# r-cran-seurat) and Harmony from CRAN (bench/quality/setup.sh installs what is missing).

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))

args <- commandArgs(trailingOnly = TRUE)
n_seeds <- if (length(args) >= 1) as.integer(args[1]) else 3L
out_dir <- if (length(args) >= 2) args[2] else file.path(bench_root(), "results")
tasks <- if (length(args) >= 3) strsplit(args[3], ",")[[1]] else c("integration", "mapping", "imputation", "score")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
seeds <- seq_len(n_seeds)
options(multigrade.verbose = FALSE)

timed <- function(expr) {
    t0 <- proc.time()[["elapsed"]]
    value <- force(expr)
    list(value = value, seconds = proc.time()[["elapsed"]] - t0)
}

# multigrade at its defaults: only the data, the batch and the seed are given.
multigrade_fit <- function(mods, batch, seed) {
    suppressWarnings(RunMultigrade(mods, batch = batch, seed = seed, verbose = FALSE))
}

say <- function(...) cat(sprintf(...), "\n", sep = "")

# --- Integration --------------------------------------------------------------------------

integration_task <- function(data) {
    rows <- list()
    add <- function(dataset, method, seed, embedding, seconds) {
        d <- data[[dataset]]
        batch <- if ("batch" %in% names(d$obs)) d$obs$batch else NULL
        m <- integration_metrics(embedding, d$obs$cell_type, batch)
        rows[[length(rows) + 1]] <<- data.frame(dataset = dataset, method = method, seed = seed,
            t(m), seconds = seconds)
        say("integration %-13s %-16s seed %s: %s", dataset, method, seed,
            paste(sprintf("%s %.3f", names(m), m), collapse = " "))
    }
    for (ds in names(data)) {
        d <- data[[ds]]
        batch <- if ("batch" %in% names(d$obs)) d$obs$batch else NULL
        for (seed in seeds) {
            fit <- timed(multigrade_fit(d$mods, batch, seed))
            add(ds, "multigrade", seed, fit$value$embedding, fit$seconds)
        }
        for (dims in c(16L, 30L)) {
            pca <- timed(pca_embedding(d$mods, d$kinds, dims))
            add(ds, sprintf("PCA (%d)", dims), NA, pca$value, pca$seconds)
            if (!is.null(batch)) {
                h <- timed(harmony_embedding(pca$value, batch))
                add(ds, sprintf("Harmony (%d)", dims), NA, h$value, pca$seconds + h$seconds)
            }
        }
        wnn <- timed(wnn_embedding(d$mods, d$kinds, 30L))
        add(ds, "Seurat WNN", NA, wnn$value, wnn$seconds)
    }
    do.call(rbind, rows)
}

# --- Query mapping ------------------------------------------------------------------------

mapping_task <- function(data, models) {
    rows <- list()
    row_checks <- list()
    add <- function(dataset, query, method, seed, ref_emb, query_emb, labels, seconds) {
        s <- split_donors(data[[dataset]])
        truth <- as.character(data[[dataset]]$obs$cell_type)
        set <- rep(c("reference", "query"), c(nrow(ref_emb), nrow(query_emb)))
        m <- c(query_mixing = batch_mixing(rbind(ref_emb, query_emb), set),
            query_side_mixing = query_mixing(ref_emb, query_emb),
            label_accuracy = if (is.null(labels)) NA_real_ else mean(labels == truth[s$query]),
            knn15_accuracy = transfer_accuracy(ref_emb, query_emb, truth[s$ref], truth[s$query]))
        rows[[length(rows) + 1]] <<- data.frame(dataset = dataset, query = query, method = method,
            seed = seed, t(m), seconds = seconds)
        say("mapping %-9s %-9s %-24s seed %s: %s", dataset, query, method, seed,
            paste(sprintf("%s %.3f", names(m), m), collapse = " "))
    }
    for (ds in c("cite", "multiome")) {
        d <- data[[ds]]
        s <- split_donors(d)
        mods <- names(d$mods)
        truth <- as.character(d$obs$cell_type)
        queries <- c(as.list(mods), list(mods))
        names(queries) <- c(mods, "paired")
        for (seed in seeds) {
            model <- models[[ds]][[seed]]
            for (qn in names(queries)) {
                qm <- lapply(d$mods[queries[[qn]]], function(x) x[, s$query, drop = FALSE])
                mapped <- timed(MapToReference(qm, model, batch = d$obs$batch[s$query],
                    refdata = list(cell_type = truth[s$ref]), seed = seed, verbose = FALSE))
                add(ds, qn, "multigrade", seed, model$embedding, mapped$value$embedding,
                    mapped$value$predictions$predicted.cell_type, mapped$seconds)
                if (qn != "paired") {
                    # Did the query's learned donor row pull it away? Its own-modality embedding
                    # among the reference's same-modality embeddings, against mapping it as the
                    # reference donor (no training).
                    own <- model$subset_embeddings[[qn]]
                    learned <- predict(mapped$value$model, qm, batch = d$obs$batch[s$query])
                    known <- predict(model, qm, batch = rep(levels(d$obs$batch)[1], sum(s$query)))
                    set <- rep(c("r", "q"), c(nrow(own), sum(s$query)))
                    row_checks[[length(row_checks) + 1]] <- data.frame(dataset = ds, query = qn, seed = seed,
                        mixing_learned_row = batch_mixing(rbind(own, learned), set),
                        mixing_reference_row = batch_mixing(rbind(own, known), set))
                }
            }
        }
        # Baselines: the same modality alone (kNN with k chosen inside the reference), and
        # Seurat's RNA reference mapping.
        for (qn in mods) {
            space <- if (d$kinds[[qn]] == "rna") {
                rna_projection(d$mods$rna[, s$ref], d$mods$rna[, s$query], 30L)
            } else if (d$kinds[[qn]] == "atac") {
                x <- lsi_embedding(tfidf(d$mods$atac), 30L)
                list(reference = x[s$ref, ], query = x[s$query, ])
            } else {
                list(reference = t(d$mods[[qn]][, s$ref]), query = t(d$mods[[qn]][, s$query]))
            }
            k <- cv_k(space$reference, truth[s$ref])
            nn <- FNN::get.knnx(space$reference, space$query, k = k)$nn.index
            labels <- apply(nn, 1, function(ix) majority(truth[s$ref][ix]))
            add(ds, qn, sprintf("kNN on %s alone (k = %d)", qn, k), NA, space$reference, space$query, labels, NA)
        }
        st <- timed(seurat_transfer(d$mods$rna[, s$ref], d$mods$rna[, s$query], truth[s$ref]))
        add(ds, "rna", "Seurat MapQuery/TransferData", NA, st$value$reference_embedding, st$value$query_embedding,
            st$value$labels, st$seconds)
    }
    list(mapping = do.call(rbind, rows), mapping_rows = do.call(rbind, row_checks))
}

# --- Imputation ---------------------------------------------------------------------------

imputation_task <- function(data, models) {
    rows <- list()
    add <- function(dataset, method, seed, predicted, truth, seconds) {
        m <- imputation_scores(predicted, truth)
        rows[[length(rows) + 1]] <<- data.frame(dataset = dataset, method = method, seed = seed, t(m),
            seconds = seconds)
        say("imputation %-9s %-30s seed %s: rmse %.4f pearson %.4f", dataset, method, seed, m[["rmse"]], m[["pearson"]])
    }
    splits <- list(
        cite = c(split_donors(data$cite), target = "adt"),
        multiome = c(split_donors(data$multiome), target = "atac"),
        pbmc1k = c(split_half(data$pbmc1k), target = "adt"))
    for (ds in names(splits)) {
        d <- data[[ds]]
        s <- splits[[ds]]
        target <- s$target
        truth <- as.matrix(d$mods[[target]][, s$query])
        batch <- if ("batch" %in% names(d$obs)) d$obs$batch else NULL
        ref_batch <- if (is.null(batch)) NULL else batch[s$ref]
        query_batch <- if (is.null(batch)) NULL else batch[s$query]
        imputation_seeds <- if (ds == "cite") seq_len(max(5L, n_seeds)) else seeds
        for (seed in imputation_seeds) {
            fit <- timed({
                model <- models[[ds]][[seed]] %||% multigrade_fit(lapply(d$mods, function(x) x[, s$ref]), ref_batch, seed)
                query <- list(rna = d$mods$rna[, s$query])
                if (!is.null(batch)) model <- MapToReference(query, model, batch = query_batch, seed = seed, verbose = FALSE)$model
                ImputeModality(query, model, target = target, batch = query_batch)
            })
            add(ds, "multigrade", seed, fit$value[rownames(truth), ], truth, fit$seconds)
        }
        ref_target <- as.matrix(d$mods[[target]][, s$ref])
        st <- timed(seurat_transfer(d$mods$rna[, s$ref], d$mods$rna[, s$query], rep("x", sum(s$ref)),
            list(target = ref_target)))
        add(ds, "Seurat TransferData", NA, st$value$transferred$target[rownames(truth), ], truth, st$seconds)
        p <- rna_projection(d$mods$rna[, s$ref], d$mods$rna[, s$query], 30L)
        k <- cv_regression_k(p$reference, ref_target)
        add(ds, sprintf("kNN regression on RNA PCs (k = %d)", k), NA, knn_regression(p$reference, p$query, ref_target, k),
            truth, NA)
        add(ds, "least squares on 30 RNA PCs", NA, linear_regression(p$reference, p$query, ref_target), truth, NA)
        add(ds, "mean of the reference", NA, matrix(rowMeans(ref_target), nrow(truth), ncol(truth),
            dimnames = dimnames(truth)), truth, NA)
    }
    do.call(rbind, rows)
}

# k for kNN regression by 5-fold cross-validation inside the reference.
cv_regression_k <- function(space, target, candidates = c(5L, 10L, 15L, 30L, 50L)) {
    set.seed(3)
    fold <- sample(rep_len(1:5, nrow(space)))
    err <- vapply(candidates, function(k) {
        sum(vapply(1:5, function(f) {
            pred <- knn_regression(space[fold != f, , drop = FALSE], space[fold == f, , drop = FALSE],
                target[, fold != f, drop = FALSE], k)
            sum((pred - target[, fold == f, drop = FALSE])^2)
        }, numeric(1)))
    }, numeric(1))
    candidates[which.min(err)]
}

# --- Mapping score ------------------------------------------------------------------------

# One cell type left out of the reference: do its query cells score lower than the others?
# CD14+ monocytes (distinct from every other type), and reticulocytes (next to the
# normoblasts that stay in the reference, with almost no surface protein).
score_task <- function(data) {
    d <- data$cite
    s <- split_donors(d)
    truth <- as.character(d$obs$cell_type)
    rows <- list()
    for (left_out in c("CD14+ Mono", "Reticulocyte")) {
        ref <- s$ref & truth != left_out
        absent <- truth[s$query] == left_out
        for (seed in seeds) {
            model <- multigrade_fit(lapply(d$mods, function(x) x[, ref]), d$obs$batch[ref], seed)
            for (qn in c("rna", "adt", "paired")) {
                mods <- if (qn == "paired") names(d$mods) else qn
                mapped <- MapToReference(lapply(d$mods[mods], function(x) x[, s$query]), model,
                    batch = d$obs$batch[s$query], seed = seed, verbose = FALSE)
                score <- mapped$predictions$mapping.score
                auc <- mean(outer(score[!absent], score[absent], ">") + 0.5 * outer(score[!absent], score[absent], "=="))
                rows[[length(rows) + 1]] <- data.frame(query = qn, seed = seed, left_out = left_out,
                    mean_score_present = mean(score[!absent]), mean_score_absent = mean(score[absent]), auc = auc)
                say("mapping score %-6s seed %d: present %.3f, absent (%s) %.3f, AUC %.3f", qn, seed,
                    mean(score[!absent]), left_out, mean(score[absent]), auc)
            }
        }
    }
    do.call(rbind, rows)
}

# --- Run ----------------------------------------------------------------------------------

summarise <- function(df, keys) {
    value_cols <- setdiff(names(df)[vapply(df, is.numeric, logical(1))], c("seed", keys))
    groups <- split(df, interaction(df[keys], drop = TRUE, lex.order = TRUE), drop = TRUE)
    out <- lapply(groups, function(g) {
        cells <- vapply(value_cols, function(col) {
            v <- g[[col]][is.finite(g[[col]])]
            if (length(v) == 0) "" else if (length(v) == 1) sprintf("%.3f", v) else
                sprintf("%.3f ± %.3f", mean(v), stats::sd(v))
        }, character(1))
        c(unlist(g[1, keys]), n = nrow(g), cells)
    })
    as.data.frame(do.call(rbind, out), stringsAsFactors = FALSE)
}

markdown_table <- function(df) {
    lines <- c(paste0("| ", paste(names(df), collapse = " | "), " |"),
        paste0("|", paste(rep("---", ncol(df)), collapse = "|"), "|"),
        apply(df, 1, function(r) paste0("| ", paste(r, collapse = " | "), " |")))
    paste(lines, collapse = "\n")
}

started <- Sys.time()
data <- load_datasets()
models <- list()
needs_models <- intersect(tasks, c("mapping", "imputation"))
if (length(needs_models) > 0) {
    for (ds in c("cite", "multiome")) {
        s <- split_donors(data[[ds]])
        n_models <- if (ds == "cite" && "imputation" %in% tasks) max(5L, n_seeds) else n_seeds
        models[[ds]] <- lapply(seq_len(n_models), function(seed) {
            multigrade_fit(lapply(data[[ds]]$mods, function(x) x[, s$ref]), data[[ds]]$obs$batch[s$ref], seed)
        })
    }
}
summary <- c(sprintf("# Quality benchmark run of %s\n", format(started, "%Y-%m-%d %H:%M")),
    sprintf("multigrade %s, seeds %s, LibTorch %s, %d cores.\n", utils::packageVersion("multigrade"),
        paste(seeds, collapse = ", "), multigrade_torch_info()$torch_version, parallel::detectCores()))
keys <- list(integration = c("dataset", "method"), mapping = c("dataset", "query", "method"),
    mapping_rows = c("dataset", "query"), imputation = c("dataset", "method"), score = c("query", "left_out"))
for (task in tasks) {
    result <- switch(task, integration = integration_task(data), mapping = mapping_task(data, models),
        imputation = imputation_task(data, models), score = score_task(data))
    if (is.data.frame(result)) result <- stats::setNames(list(result), task)
    for (part in names(result)) {
        utils::write.csv(result[[part]], file.path(out_dir, paste0(part, ".csv")), row.names = FALSE)
        summary <- c(summary, sprintf("## %s\n", part), markdown_table(summarise(result[[part]], keys[[part]])), "")
    }
}
writeLines(summary, file.path(out_dir, "summary.md"))
say("wrote %s (%.1f min)", file.path(out_dir, "summary.md"), as.numeric(difftime(Sys.time(), started, units = "mins")))
