# One rank of a data-parallel multigrade run (started by srun, torchrun or
# multigrade::multigrade_launch()): every rank runs this same script on the same data.
#   Rscript train-distributed.R <data.rds: a named list of feature x cell matrices + $batch> <model.h5>
# With checkpoints in a shared folder, submitting the job again after a failure resumes it.
library(multigrade)
args <- commandArgs(trailingOnly = TRUE)
data <- readRDS(args[1])
cluster <- multigrade_cluster()  # rank, ranks and rendezvous from the launcher's environment
# One GPU per rank on its own machine (with --gpus-per-task=1 each task sees one, cuda:0).
gpus <- multigrade_torch_info()$cuda_device_count
device <- if (multigrade_torch_info()$cuda_available) paste0("cuda:", cluster$local_rank %% max(1, gpus)) else "cpu"
model <- RunMultigrade(data$modalities, batch = data$batch, seed = 1, device = device,
    options = multigrade_options(distributed = cluster),
    checkpoint_dir = file.path(dirname(args[2]), "checkpoints"), resume = TRUE,
    verbose = cluster$rank == 0)
# Every rank holds the same model; one writes it.
if (cluster$rank == 0) SaveMultigrade(model, args[2], overwrite = TRUE)
