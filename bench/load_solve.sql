-- One transaction of bench/bench_load.sh: solve a random puzzle of bench_puzzles.
\set id random(1, :npuzzles)
SELECT hrm_solve('sudoku', puzzle, views => :views) FROM bench_puzzles WHERE id = :id;
