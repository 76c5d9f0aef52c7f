#!/bin/bash
# Data-parallel multigrade training under SLURM: one R process per task, on as many nodes as
# asked, meeting at the first node. Submit with `sbatch slurm-train.sh data.rds model.h5`.
# srun sets SLURM_PROCID and SLURM_NTASKS, which multigrade_cluster() reads as the rank and
# the number of ranks; MASTER_ADDR and MASTER_PORT say where rank 0 serves the rendezvous.
#SBATCH --job-name=multigrade
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=16
#SBATCH --time=04:00:00
# With GPUs, one task per GPU: --ntasks-per-node=<GPUs per node> --gpus-per-task=1
set -euo pipefail
export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export MASTER_PORT=${MASTER_PORT:-29500}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
srun Rscript "$(dirname "$0")/train-distributed.R" "$@"
