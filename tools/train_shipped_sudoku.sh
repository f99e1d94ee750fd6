#!/usr/bin/env bash
# Train the shipped Sudoku model (models/sudoku.safetensors) from scratch, or
# continue an interrupted run exactly from its saved state:
#
#   bash tools/train_shipped_sudoku.sh
#
# The recipe (docs/training.md): attention over each cell's row, column and
# box peers, ACT with up to 4 segments, hidden 128, batch 64, lr 1e-3 with a
# cosine decay to 1e-4 over 12,000 steps, a 0.999 moving average of the
# weights, on 200,000 generated puzzles with 1 to 55 blanks (augmented),
# evaluated on 500 held-out generated puzzles with 45-55 blanks.  It ships
# with halt_max_steps 16 (--save-max-steps): trained with ACT over up to 4
# segments, it answers better with 16 at test time (docs/training.md).  About
# 120 CPU minutes in all (1.7 steps per CPU second on the 2-core AMD EPYC
# machine; with THREADS=2 about an hour of wall-clock time).
#
# The run state is rewritten every 5 minutes to models/sudoku.state (weights,
# optimizer, carry, sampler: a resumed run ends with the same weights as an
# uninterrupted one); the final weights go to models/sudoku.safetensors and
# the curve to models/sudoku_curve.csv.  Environment: THREADS (1; the run is
# identical at any thread count), STEPS (12000).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bench/train_recipe
mkdir -p models
exec ./bench/train_recipe --minutes 0 --steps "${STEPS:-12000}" --total-steps 12000 --lr-min-ratio 0.1 --warmup 200 \
    --threads "${THREADS:-1}" --clock cpu --attn-mask sudoku --halt-max-steps 4 --ema 0.999 \
    --blanks 1-55 --train-puzzles 200000 --data-seed 1 --seed 0 \
    --eval-blanks 45-55 --eval-puzzles 500 --eval-every 600 --final-segments 16 \
    --state models/sudoku.state --state-every 300 \
    --csv models/sudoku_curve.csv --tag sudoku \
    --save models/sudoku.safetensors --save-max-steps 16 \
    --description "Sudoku 9x9 (any number of blanks up to 55): HRM with row/column/box attention, ACT up to 4 segments, trained by tools/train_shipped_sudoku.sh"
