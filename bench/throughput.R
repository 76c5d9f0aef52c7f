# Training and embedding throughput (cells/s) of the default architecture on simulated
# data: 4000 genes (nb) + 134 proteins (mse), batch 256. Prints JSON lines.
#   Rscript bench/throughput.R [n_cells] [epochs] [threads]
suppressPackageStartupMessages(library(multigrade))
args <- commandArgs(trailingOnly = TRUE)
script_dir <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
source(file.path(script_dir, "simulate.R"))
n_cells <- if (length(args) >= 1) as.integer(args[1]) else 20000L
epochs <- if (length(args) >= 2) as.integer(args[2]) else 3L
threads <- if (length(args) >= 3) as.integer(args[3]) else 2L

# CPU time the hypervisor gave to other guests (steal, all CPUs) since boot, in seconds; NA
# where /proc/stat has no steal column. A run slowed by the host shows it here.
cpu_steal_seconds <- function() {
  if (!file.exists("/proc/stat")) return(NA_real_)
  fields <- strsplit(readLines("/proc/stat", n = 1), "\\s+")[[1]]
  if (fields[1] != "cpu" || length(fields) < 9) return(NA_real_)
  as.numeric(fields[9]) / 100  # USER_HZ, 100 on Linux
}

data <- simulate_multimodal(n_cells)
set.seed(1)
steal_before <- cpu_steal_seconds()
model <- RunMultigrade(list(rna = data$rna, adt = data$adt), likelihoods = c(rna = "nb", adt = "mse"),
    batch = data$obs$donor, max_epochs = epochs, batch_size = 256, verbose = FALSE,
    options = multigrade_options(n_threads = threads, early_stopping = FALSE))
steal <- cpu_steal_seconds() - steal_before  # over all epochs, the first included
h <- model$history
# Epoch 1 includes warm-up (allocations); report the later epochs when there are any.
timed <- if (nrow(h) > 1) h[-1, ] else h
train_rate <- sum(timed$cells_seen) / sum(timed$seconds)
# The reference's convention (../shared/design/PERFORMANCE.md): all cells per epoch, validation included.
epoch_rate <- n_cells * nrow(timed) / sum(timed$seconds)
started <- proc.time()[["elapsed"]]
emb <- predict(model, list(rna = data$rna, adt = data$adt), batch = data$obs$donor, n_threads = threads)
embed_rate <- n_cells / (proc.time()[["elapsed"]] - started)
info <- multigrade_torch_info()
cat(sprintf('{"task":"train","cells":%d,"genes":4000,"proteins":134,"batch_size":256,"threads":%d,"device":"%s","libtorch":"%s","epochs":%d,"cells_per_s":%.0f,"epoch_cells_per_s":%.0f,"ms_per_step":%.2f,"cpu_steal_s_all_epochs":%s}\n',
    n_cells, threads, model$device, info$libtorch_version, nrow(h), train_rate, epoch_rate, 1000 * 256 / train_rate,
    if (is.na(steal)) "null" else sprintf("%.2f", steal)))
cat(sprintf('{"task":"embed","cells":%d,"threads":%d,"device":"%s","cells_per_s":%.0f}\n',
    n_cells, threads, model$device, embed_rate))
cat(sprintf('{"task":"peak_memory","max_rss_mb":%.0f}\n',
    as.numeric(sub(".*:\\s+(\\d+) kB", "\\1", grep("VmHWM", readLines("/proc/self/status"), value = TRUE))) / 1024))
