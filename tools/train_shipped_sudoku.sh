#!/usr/bin/env bash
# Train the shipped Sudoku model (models/sudoku.safetensors) from scratch, or
# continue an interrupted run exactly from its saved state:
#
#   bash tools/train_shipped_sudoku.sh
#
# Two stages (docs/training.md, "The shipped model"):
#
#  1. attention over each cell's row, column and box peers, ACT with up to 4
#     segments, hidden 128, batch 64, lr 1e-3 with a cosine decay to 1e-4
#     over 12,000 steps, a 0.999 moving average of the weights, on 200,000
#     generated puzzles with 1 to 55 blanks (augmented), evaluated on 500
#     held-out generated puzzles with 45-55 blanks; about 120 CPU minutes;
#  2. continued from stage 1's weights on the hard end: 200,000 new puzzles
#     with 30 to 58 blanks, lr 3e-4 (100 warmup steps) with a cosine decay to
#     3e-5 over 5,000 steps, the same moving average; about 50 CPU minutes.
#
# The model ships with halt_max_steps 16 (--save-max-steps): trained with ACT
# over up to 4 segments, it answers better with 16 at test time.  In all
# about 170 CPU minutes (1.7 steps per CPU second on the 2-core AMD EPYC
# machine; with THREADS=2 about 90 minutes of wall-clock time).
#
# Each stage rewrites its run state every 5 minutes (models/sudoku.state,
# models/sudoku_stage2.state: weights, optimizer, carry, sampler; a resumed
# run ends with the same weights as an uninterrupted one, at any thread
# count).  Stage 1's weights go to models/sudoku_stage1.safetensors (shipped
# too: hrm_load_pretrained('sudoku_stage1'), a member of an ensemble with the
# final model), the final weights to models/sudoku.safetensors, the curves to
# models/sudoku_curve.csv and models/sudoku_stage2_curve.csv.  Environment:
# THREADS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s bench/train_recipe
THREADS=${THREADS:-1}
DESC="Sudoku 9x9 (any number of blanks up to 58): HRM with row/column/box attention, ACT up to 4 segments, trained by tools/train_shipped_sudoku.sh"
DESC1="Sudoku 9x9 (up to 55 blanks): stage 1 of the shipped model 'sudoku', HRM with row/column/box attention, ACT up to 4 segments, trained by tools/train_shipped_sudoku.sh; votes with 'sudoku' as an ensemble"

if [ ! -f models/sudoku_stage1.safetensors ]; then
    ./bench/train_recipe --arch hrm --hidden 128 --minutes 0 --steps 12000 --total-steps 12000 --lr-min-ratio 0.1 --warmup 200 \
        --threads "$THREADS" --clock cpu --attn-mask sudoku --halt-max-steps 4 --ema 0.999 \
        --blanks 1-55 --train-puzzles 200000 --data-seed 1 --seed 0 \
        --eval-blanks 45-55 --eval-puzzles 500 --eval-every 600 --final-segments 16 \
        --state models/sudoku.state --state-every 300 \
        --csv models/sudoku_curve.csv --tag sudoku \
        --save models/sudoku_stage1.safetensors --save-max-steps 16 --description "$DESC1"
fi

exec ./bench/train_recipe --init models/sudoku_stage1.safetensors --halt-max-steps 4 \
    --minutes 0 --steps 5000 --total-steps 5000 --lr 3e-4 --warmup 100 --lr-min-ratio 0.1 \
    --threads "$THREADS" --clock cpu --ema 0.999 \
    --blanks 30-58 --train-puzzles 200000 --data-seed 2 --seed 0 \
    --eval-blanks 45-55 --eval-puzzles 500 --eval-every 600 --eval-segments 16 --final-segments 32 \
    --state models/sudoku_stage2.state --state-every 300 \
    --csv models/sudoku_stage2_curve.csv --tag sudoku_stage2 \
    --save models/sudoku.safetensors --save-max-steps 16 --description "$DESC"
