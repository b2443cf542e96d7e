#!/usr/bin/env bash
# Tuning on a cluster: each task of a Slurm job array measures one slice of the candidates into
# its own database, and a last job merges them. Submit from a directory all nodes see:
#   jobs=$(sbatch --parsable --array=0-7 examples/autotune_session/slurm_array.sh)
#   sbatch --dependency=afterok:$jobs --wrap "reluforge-tune --db tuning.json merge shards/*.json"
# Nodes of one kind only: records name the CPU they were measured on, and a database is only
# applied on that kind of machine.
#SBATCH --job-name=reluforge-tune
#SBATCH --cpus-per-task=2
#SBATCH --time=00:30:00
set -euo pipefail
mkdir -p shards
reluforge-tune --db "shards/shard-${SLURM_ARRAY_TASK_ID}.json" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
    --spec "forward:relu:bias=1:weight=kn:save=mask" --shape 256x512x512,4096x256x64 --budget-s 1500
