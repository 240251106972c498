#!/usr/bin/env bash
# An example Slurm batch script: a δ × seeds sweep of trpo-train over several cluster nodes
# (README "Sweeps" and "Running on several machines (MPI)"). Submit it with
# `sbatch docs/slurm_sweep.sh`; resubmitting the same script after a time-out or a
# pre-emption resumes the sweep where it stopped (with any node count).
#
# What runs where: one MPI rank (a Slurm task) per node, each with all of its node's cores
# as its thread budget (--threads). The ranks take the cells in turn (cell i goes to rank
# i mod ranks) in rounds: each rank trains its next --threads cells at once, one core each,
# and the next round starts when every rank's cells have ended, so a round lasts as long as
# its longest cell (equal budgets keep that small). Rank 0 alone writes sweep.json and the
# summary, so the sweep directory must be on a file system every node sees. Each cell is
# single-threaded and deterministic: the results do not depend on the nodes, the rank or
# core count or the order the cells ran in. With --nodes=1 --ntasks=1 it is a one-process
# sweep on one node.

#SBATCH --job-name=trpo-sweep          # the name squeue shows
#SBATCH --nodes=4                      # four nodes ...
#SBATCH --ntasks-per-node=1            # ... one trpo-train rank on each ...
#SBATCH --cpus-per-task=16             # ... with 16 cores for its thread budget
#SBATCH --mem=8G                       # per node; a CartPole cell needs a few tens of MB, a BipedalWalker one more
#SBATCH --time=02:00:00                # wall-time limit; on a time-out, resubmit (see the end)
#SBATCH --signal=TERM@120              # SIGTERM two minutes before the limit: every rank stops its
                                       # cells at their last completed iteration and saves them
#SBATCH --output=%x-%j.out             # stdout and stderr: trpo-sweep-<jobid>.out

set -euo pipefail

# where the build is (build/release of this repository) and where the sweep goes
TRPO_TRAIN=${TRPO_TRAIN:-$HOME/trpo-studio/build/release/app/trpo-train}
SWEEP_DIR=${SWEEP_DIR:-$HOME/sweeps/cartpole-delta}

if [ -f "$SWEEP_DIR/sweep.json" ]; then
    # the sweep exists: finish the cells that are not done (an interrupted cell goes on from
    # its checkpoint, a failed one starts over); the grid and budget come from sweep.json
    set -- --resume "$SWEEP_DIR"
else
    # a new sweep: 4 values of δ × 5 seeds = 20 independent CartPole runs of 200 000 steps
    set -- --env CartPole-v1 --sweep delta=0.001,0.003,0.01,0.03 --seeds 1-5 --steps 2e5 --out "$SWEEP_DIR"
fi

# srun starts the ranks inside the allocation (so Slurm accounts for them and delivers the
# SIGTERM above to each); --mpi=pmix lets Open MPI find its peers through Slurm (where the
# cluster's Slurm lacks PMIx, `mpirun -np "$SLURM_NTASKS"` in its place does the same).
# --threads is each rank's thread budget, one per allocated core; --quiet prints one line
# per finished cell and the summary instead of every iteration
set +e
srun --mpi=pmix "$TRPO_TRAIN" "$@" --threads "$SLURM_CPUS_PER_TASK" --quiet
code=$?
set -e

# trpo-train's exit code: 0 every cell done, 3 some cells failed (the others are done; each
# failed cell's reason is in sweep.json and above), 130 stopped early (resubmit this script),
# 2 bad input, 1 the sweep directory could not be written
case $code in
    0) echo "sweep done: $SWEEP_DIR/summary.csv" ;;
    3) echo "sweep done with failed cells: see $SWEEP_DIR/sweep.json" ;;
    130) echo "sweep stopped before the end: sbatch $0 resumes it" ;;
esac
exit $code
