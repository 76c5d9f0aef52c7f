#' Data-parallel training over several processes or machines
#'
#' Describes this R process as one rank of a data-parallel run, for
#' `multigrade_options(distributed =)`. Every rank runs the same script on the
#' same data; each trains on its share of the cells (cells `i` with
#' `(i - 1) %% world_size == rank`), and after every step the ranks sum their
#' gradients with one all-reduce over torch.distributed's c10d (Gloo on CPUs,
#' NCCL on CUDA GPUs where the LibTorch has it), so every rank holds the same
#' weights throughout. All ranks draw the same global minibatches and
#' train/validation split, and they share their epoch losses, so early
#' stopping, KL warm-up and NaN rollback decide alike everywhere. Each returns
#' the same model, with the embedding of all cells (gathered from the ranks);
#' save it from rank 0 only. [MapToReference()] with these options trains the
#' query's rows the same way, and [predict()][predict.multigrade_model()] and
#' [ImputeModality()] take `cluster =` to embed or impute a large query rank by
#' rank (each its share; every rank gets all cells). With `multigrade_options(draws = "keyed")` the run
#' takes exactly the steps of one process with the same seed, whatever the
#' number of ranks; the MMD term is then the one exception, computed within
#' each rank's share of a minibatch (each minibatch holds two groups; a rank
#' sees a random share of it).
#'
#' The arguments default to the environment that launchers set: `RANK` (or
#' SLURM's `SLURM_PROCID`), `WORLD_SIZE` (`SLURM_NTASKS`), `MASTER_ADDR` and
#' `MASTER_PORT`, as `torchrun` and `srun` do (see
#' `system.file("scripts", package = "multigrade")` for a SLURM example), and
#' [multigrade_launch()] starts the ranks on one machine. Rank 0 serves the
#' rendezvous at `master_addr:master_port`; the others connect to it. A rank
#' that stops (an error, a killed process, Ctrl-C on one rank) makes the
#' others fail with an `mg_error_distributed` error (within `timeout` seconds,
#' usually at once), never hang; with
#' `RunMultigrade(checkpoint_dir =)` each rank keeps its own checkpoint file
#' and the job resumes from them.
#'
#' What scales: training's gradient all-reduce moves the whole parameter
#' vector (2.8 MB at the defaults with 4000 genes and 134 proteins) every step, so ranks
#' pay off when a step's work is large (big minibatches, many genes, GPUs with
#' NCCL); on one machine's CPU cores, one process with more threads is usually
#' as fast (`bench/distributed.sh`). Streamed training ([RunMultigradeH5AD()],
#' on-disk SingleCellExperiments) is data-parallel too: every rank reads each
#' chunk and trains on its share of it, so memory per rank stays one chunk but
#' the reading is not divided. End-to-end MIL trains in one process.
#'
#' @param rank This process's rank, `0` to `world_size - 1`.
#' @param world_size The number of ranks.
#' @param master_addr,master_port Where rank 0 serves the rendezvous.
#' @param local_rank This process's rank among the ranks on its machine, for
#'   picking its GPU (`device = paste0("cuda:", cluster$local_rank)`): by
#'   default from `LOCAL_RANK` (torchrun), `SLURM_LOCALID` or
#'   `OMPI_COMM_WORLD_LOCAL_RANK`, else `rank`.
#' @param backend `"auto"` (NCCL on CUDA devices where built, else Gloo),
#'   `"gloo"` or `"nccl"`.
#' @param timeout Seconds a rank waits for the others (to join, or in a
#'   collective) before it fails.
#' @return A `multigrade_cluster` object.
#' @seealso [multigrade_launch()] to start the ranks on one machine.
#' @examples
#' # What a rank started by srun or torchrun sees (here set by hand):
#' multigrade_cluster(rank = 0, world_size = 2, master_port = 29512)
#' @export
multigrade_cluster <- function(rank = NULL, world_size = NULL, master_addr = NULL, master_port = NULL,
                               local_rank = NULL, backend = c("auto", "gloo", "nccl"), timeout = 60) {
    backend <- match.arg(backend)
    env <- function(...) {
        for (nm in c(...)) {
            value <- Sys.getenv(nm, "")
            if (nzchar(value)) return(value)
        }
        NULL
    }
    rank <- rank %||% env("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK")
    world_size <- world_size %||% env("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE")
    if (is.null(rank) || is.null(world_size)) {
        mg_abort(c("{.fn multigrade_cluster} needs this process's rank and the number of ranks.",
            "i" = paste("Give {.arg rank} and {.arg world_size}, or start R through a launcher that sets",
                "{.envvar RANK} and {.envvar WORLD_SIZE} (torchrun, srun, {.fn multigrade_launch}).")))
    }
    rank <- suppressWarnings(as.integer(rank))
    world_size <- suppressWarnings(as.integer(world_size))
    check_count(world_size, arg = "world_size")
    if (is.na(rank) || rank < 0 || rank >= world_size) {
        mg_abort("{.arg rank} must be a whole number from 0 to {world_size - 1}.")
    }
    local_rank <- suppressWarnings(as.integer(local_rank %||%
        env("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK") %||% rank))
    if (is.na(local_rank) || local_rank < 0 || local_rank > rank) {
        mg_abort("{.arg local_rank} must be a whole number from 0 to the rank ({rank}).")
    }
    master_port <- suppressWarnings(as.integer(master_port %||% env("MASTER_PORT") %||% 29500L))
    if (is.na(master_port) || master_port < 1 || master_port > 65535) {
        mg_abort("{.arg master_port} must be a port number (1 to 65535).")
    }
    check_number(timeout, min = 1)
    structure(list(rank = rank, world_size = world_size, local_rank = local_rank,
        master_addr = as.character(master_addr %||% env("MASTER_ADDR") %||% "127.0.0.1"),
        master_port = master_port, backend = backend, timeout = as.double(timeout)), class = "multigrade_cluster")
}

#' @export
print.multigrade_cluster <- function(x, ...) {
    cli::cli_text(paste("{.cls multigrade_cluster}: rank {x$rank} of {x$world_size},",
        "rendezvous at {x$master_addr}:{x$master_port} ({x$backend}, timeout {x$timeout} s)"))
    invisible(x)
}

#' Start data-parallel ranks on this machine
#'
#' Runs `script` with `Rscript` as `n_ranks` processes, each with `RANK`,
#' `WORLD_SIZE`, `MASTER_ADDR` (`127.0.0.1`) and `MASTER_PORT` set, so that
#' `multigrade_cluster()` inside the script finds its place, and waits for all
#' of them. For one machine with several GPUs (each rank then picks its own,
#' e.g. `device = paste0("cuda:", multigrade_cluster()$local_rank)`) or for trying a
#' multi-machine script locally.
#'
#' @param script Path of the R script every rank runs.
#' @param n_ranks Number of processes.
#' @param args Further command-line arguments for the script.
#' @param port Rendezvous port (default: a free-looking one from 20000 to 40000).
#' @param log_dir Folder for each rank's output, `rank-<r>.log`.
#' @param timeout Seconds to wait for the ranks before stopping them.
#' @return Invisibly, a data frame with each rank's exit status and log file;
#'   an `mg_error_distributed` error when a rank failed.
#' @examples
#' \dontrun{
#' multigrade_launch("train.R", n_ranks = 2)
#' }
#' @export
multigrade_launch <- function(script, n_ranks = 2L, args = character(), port = NULL,
                              log_dir = tempfile("multigrade-ranks"), timeout = 3600) {
    if (!is.character(script) || length(script) != 1 || !file.exists(script)) {
        mg_abort("{.arg script} must be the path of an existing R script.")
    }
    check_count(n_ranks)
    port <- as.integer(port %||% (20000L + sample.int(20000L, 1L)))
    dir.create(log_dir, showWarnings = FALSE, recursive = TRUE)
    rscript <- file.path(R.home("bin"), "Rscript")
    logs <- file.path(log_dir, sprintf("rank-%d.log", seq_len(n_ranks) - 1L))
    pids <- vapply(seq_len(n_ranks), function(k) {
        # A shell per rank runs the script and appends its exit status to the log.
        rank_command <- sprintf("%s %s %s; echo \"multigrade-rank-exit: $?\"", shQuote(rscript), shQuote(script),
            paste(shQuote(args), collapse = " "))
        # The ranks see the libraries this session sees.
        command <- sprintf("RANK=%d WORLD_SIZE=%d MASTER_ADDR=127.0.0.1 MASTER_PORT=%d R_LIBS=%s sh -c %s >%s 2>&1 & echo $!",
            k - 1L, n_ranks, port, shQuote(paste(.libPaths(), collapse = ":")), shQuote(rank_command), shQuote(logs[k]))
        as.integer(system(command, intern = TRUE))
    }, integer(1))
    status <- wait_for_ranks(pids, logs, timeout)
    out <- data.frame(rank = seq_len(n_ranks) - 1L, status = status, log = logs)
    if (any(status != 0L)) {
        failed <- sprintf("%s of %d failed (exit status %s).", paste(out$rank[status != 0L], collapse = ", "), n_ranks,
            paste(status[status != 0L], collapse = ", "))
        mg_abort(c("Data-parallel ranks {failed}", "i" = "Their output: {.file {logs[status != 0L]}}."),
            class = "distributed")
    }
    invisible(out)
}

# Exit statuses of the rank processes, as each one's shell appended it to its log, waiting at
# most `timeout` seconds (ranks still running then are killed, with their scripts, and get 124).
wait_for_ranks <- function(pids, logs, timeout) {
    deadline <- Sys.time() + timeout
    alive <- function(pid) identical(suppressWarnings(system2("kill", c("-0", pid), stdout = FALSE, stderr = FALSE)), 0L)
    while (any(vapply(pids, alive, logical(1))) && Sys.time() < deadline) Sys.sleep(0.2)
    for (pid in pids[vapply(pids, alive, logical(1))]) {
        system2("pkill", c("-KILL", "-P", pid), stdout = FALSE, stderr = FALSE)
        tools::pskill(pid, tools::SIGKILL)
    }
    vapply(logs, function(log) {
        lines <- if (file.exists(log)) readLines(log, warn = FALSE) else character()
        code <- utils::tail(grep("^multigrade-rank-exit: ", lines, value = TRUE), 1)
        if (length(code)) as.integer(sub("^multigrade-rank-exit: ", "", code)) else 124L
    }, integer(1), USE.NAMES = FALSE)
}

# The core's DistributedConfig (src/core/api.h) of a cluster, NULL for one process.
core_distributed_config <- function(cluster) {
    if (is.null(cluster) || cluster$world_size == 1L) return(NULL)
    unclass(cluster)
}

# The rank's share of the data: cells i with (i - 1) %% world_size == rank, as the core
# expects them (train/data_parallel.h).
shard_data <- function(data, cluster) {
    if (is.null(cluster) || cluster$world_size == 1L) return(data)
    keep <- shard_rows(length(data$cells), cluster)
    if (length(keep) == 0) {
        mg_abort("Rank {cluster$rank} of {cluster$world_size} gets no cells: the data have {length(data$cells)}.",
            class = "distributed")
    }
    data$modalities <- lapply(data$modalities, function(m) {
        m$data <- m$data[, keep, drop = FALSE]
        m$present <- m$present[keep]
        if (!is.null(m$encoder_fill)) {
            m$encoder_fill <- as.double(matrix(m$encoder_fill, ncol = length(data$cells))[, keep, drop = FALSE])
        }
        m
    })
    data$cells <- data$cells[keep]
    data$categorical <- lapply(data$categorical, function(codes) codes[keep])
    data$continuous <- lapply(data$continuous, function(values) values[keep])
    if (!is.null(data$group)) data$group <- data$group[keep]
    data
}

# Core errors of data-parallel training (multigrade::DistributedError) as classed R errors.
with_distributed_advice <- function(expr, call = rlang::caller_env()) {
    tryCatch(expr, `multigrade::DistributedError` = function(e) {
        mg_abort(c("Data-parallel training failed: {conditionMessage(e)}",
            "i" = "Every rank must run the same script on the same data with the same settings; a rank that stops (an error, a killed process) stops them all.",
            "i" = "With {.arg checkpoint_dir}, start the job again with {.code resume = TRUE} to continue."),
            class = "distributed", call = call)
    })
}

# A model does not keep the ranks that trained it: its options and training configuration
# without the cluster (mapping with the model later runs in one process unless asked).
forget_cluster <- function(x) {
    x$distributed <- NULL
    x
}

# The cells of `n` that this rank holds (all of them alone).
shard_rows <- function(n, cluster) {
    if (is.null(cluster) || cluster$world_size == 1L) return(seq_len(n))
    which((seq_len(n) - 1L) %% cluster$world_size == cluster$rank)
}

# Inference over the ranks of `cluster` (or alone): `compute(part, rows)` gets this rank's share
# of `data` and the share's positions among all cells, and returns a list of matrices with the
# cells in their rows (or, `cells = "columns"`, in their columns); every rank gets them for all
# cells, in data order (one gather for all of them). Alone, they are returned as computed.
map_shards <- function(data, cluster, compute, cells = c("rows", "columns")) {
    cells <- match.arg(cells)
    if (is.null(cluster) || cluster$world_size == 1L) return(compute(data, seq_along(data$cells)))
    parts <- compute(shard_data(data, cluster), shard_rows(length(data$cells), cluster))
    if (cells == "columns") parts <- lapply(parts, t)
    widths <- vapply(parts, ncol, integer(1))
    all <- with_distributed_advice(mg_gather_cell_rows(unclass(cluster), do.call(cbind, parts)))
    ends <- cumsum(widths)
    gathered <- lapply(seq_along(parts), function(k) {
        all[, seq.int(ends[k] - widths[k] + 1L, length.out = widths[k]), drop = FALSE]
    })
    if (cells == "columns") lapply(gathered, t) else gathered
}

check_cluster <- function(cluster, call = rlang::caller_env()) {
    if (!is.null(cluster) && !inherits(cluster, "multigrade_cluster")) {
        mg_abort("{.arg cluster} must be {.code NULL} or come from {.fn multigrade_cluster}.", call = call)
    }
}
