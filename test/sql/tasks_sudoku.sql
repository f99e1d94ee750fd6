-- Task toolkit, Sudoku: codec, exact solver and solution counter, rule
-- checker, generator, augmentation, and bad input with its SQLSTATE.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

-- Run a statement and report 'ok' or the SQLSTATE and message it raised.
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Known puzzles: the first three lines of each public collection
-- (test/data/sudoku; evaluation data, used here only to test the solver).
CREATE TEMP TABLE known (source text, puzzle text, answer text);
INSERT INTO known VALUES
('17_clue',       '.................1.....2.3......3.2...1.4......5....6..3......4.7..8...962...7...', '953168742862734951417952836746893125281645397395271468138529674574386219629417583'),
('17_clue',       '.................1.....2.3......3.2...4....5...6.1.....3......6.7..8...952.7.....', '143657982952438761867192435795863124314279658286514397438921576671385249529746813'),
('17_clue',       '.................1.....2.3......425...6.......17....8.....7...64...6....9..8...1.', '354196872729438561681752439893614257246587193517329684138275946475961328962843715'),
('hardest_1106',  '........8..3...4...9..2..6.....79.......612...6.5.2.7...8...5...1.....2.4.5.....3', '621943758783615492594728361142879635357461289869532174238197546916354827475286913'),
('hardest_1106',  '........2..8.1.9..5....3.4....1.93...6..3..8...37......4......53.1.7.8..2........', '639847512478512963512693748724189356965234187183765294847921635351476829296358471'),
('hardest_1106',  '..2...7...1.....6.5......18....37.......49.....41.23....3.2.9...8.....5.6.......2', '832416795417985263596273418951837624328649571764152389173528946289364157645791832'),
('hardest_1905',  '98.7..6..75..4......3..8.7.5....7.3...94.........2.1..3.......1.9...5.8...52....6', '981752643752643819463198275514867932629431758837529164348976521296315487175284396'),
('hardest_1905',  '98.7..6..75..4......3..8.7.8....9.5..3.2..1.....4....6.7...4.3....8..4......1...2', '984751623752346981613928574846139257539267148127485396271694835365872419498513762'),
('hardest_1905',  '98.7..6..7.5....9..43.....78..2....6..7.1..2......48..3..9...6.....5.3.......1..9', '982745631765132498143689257859273146437816925216594873371928564698457312524361789'),
('magictour',     '4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........', '468931527751624839392578461134756298289413675675289314846192753513867942927345186'),
('magictour',     '7.8...3.....2.1...5.........4.....263...8.......1...9..9.6....4....7.5...........', '728946315934251678516738249147593826369482157852167493293615784481379562675824931'),
('magictour',     '7.8...3.....6.1...5.........4.....263...8.......1...9..9.2....4....7.5...........', '768942315934651278512738649147593826329486157856127493693215784481379562275864931');

-- ---------------------------------------------------------------------------
-- Codec: blank 1, digit d -> d + 1; decode is the exact inverse.
SELECT hrm_sudoku_encode('4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......');
SELECT hrm_sudoku_decode(hrm_sudoku_encode(puzzle)) = puzzle AS puzzle_round_trip,
       hrm_sudoku_decode(hrm_sudoku_encode(answer)) = answer AS answer_round_trip
FROM known ORDER BY source, puzzle;
-- '0' blanks and whitespace are accepted; output always uses '.'
SELECT hrm_sudoku_decode(hrm_sudoku_encode(E'400000805\n030000000\n000700000\n020000060\n000080400\n000010000\n000603070\n500200000\n104000000\n'));
SELECT hrm_sudoku_encode('123 456 789' || repeat('.', 72)) = ARRAY[2,3,4,5,6,7,8,9,10] || array_fill(1, ARRAY[72]) AS spaced;
-- decode takes the tokens in any array shape (9x9 here)
SELECT hrm_sudoku_decode(ARRAY(SELECT ARRAY(SELECT (r * 9 + c) % 10 + 1 FROM generate_series(0, 8) c) FROM generate_series(0, 8) r));

-- ---------------------------------------------------------------------------
-- Exact solver on the public collections: the published solution, unique.
SELECT source, hrm_sudoku_solve_exact(puzzle) = answer AS solved,
       hrm_sudoku_count_solutions(puzzle) AS solutions,
       hrm_sudoku_count_solutions(puzzle, 1) AS max_1
FROM known ORDER BY source, puzzle;
-- A solved grid is its own solution; givens that already clash have none.
SELECT hrm_sudoku_solve_exact(answer) = answer AS fixed_point FROM known LIMIT 1;
SELECT hrm_sudoku_solve_exact('11' || repeat('.', 79)) IS NULL AS clash_unsolvable,
       hrm_sudoku_count_solutions('11' || repeat('.', 79)) AS clash_solutions;
-- No clash among the givens, but no solution: every other digit of row 1
-- is given, and the last cell's column already has the missing 9.
SELECT hrm_sudoku_count_solutions('12345678.' || repeat('.', 8) || '9' || repeat('.', 63)) AS hidden_contradiction;
-- Many solutions: the empty grid and a single given row count up to max.
SELECT hrm_sudoku_count_solutions(repeat('.', 81), 1000) AS empty_grid,
       hrm_sudoku_count_solutions('123456789' || repeat('.', 72), 500) AS one_row;
-- Exactly two: blank the rectangle r1c2, r1c4, r2c2, r2c4 (digits 1 3 / 3 1),
-- which spans two boxes, so the two digits can swap.
SELECT hrm_sudoku_count_solutions(p, 10) AS rectangle, hrm_sudoku_solve_exact(p) IS NOT NULL AS solvable
FROM (SELECT overlay(overlay(overlay(overlay(
        '417369825632158947958724316825437169791586432346912758289643571573291684164875293'
        PLACING '.' FROM 2) PLACING '.' FROM 4) PLACING '.' FROM 11) PLACING '.' FROM 13) AS p) s;

-- ---------------------------------------------------------------------------
-- Rule checker: the first violated rule.
SELECT c.* FROM known, hrm_sudoku_check(puzzle, answer) c WHERE source = 'magictour' LIMIT 1;
WITH s(p, a) AS (SELECT '4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......',
                        '417369825632158947958724316825437169791586432346912758289643571573291684164875293')
SELECT k, c.*
FROM s, LATERAL (VALUES
    ('solution',      a),
    ('blank r2c5',    overlay(a PLACING '.' FROM 14)),
    ('row 3 twice 6', overlay(a PLACING '6' FROM 19)),
    ('swap r1c1 r1c2', '14' || substr(a, 3)),
    ('swap rows 1 4', substr(a, 28, 9) || substr(a, 10, 18) || substr(a, 1, 9) || substr(a, 37)),
    ('another grid',  '953168742862734951417952836746893125281645397395271468138529674574386219629417583'),
    ('blanked given', overlay(a PLACING '.' FROM 1))
) v(k, ans), hrm_sudoku_check(p, ans) c;

-- ---------------------------------------------------------------------------
-- Generator: deterministic for a seed, unique solutions, exact blank counts.
SELECT * FROM hrm_sudoku_generate(2, 45, 42);
SELECT (SELECT md5(string_agg(puzzle || solution, ',')) FROM hrm_sudoku_generate(20, 40, 55, 7)) =
       (SELECT md5(string_agg(puzzle || solution, ',')) FROM hrm_sudoku_generate(20, 40, 55, 7)) AS same_seed_same_rows,
       (SELECT md5(string_agg(puzzle || solution, ',')) FROM hrm_sudoku_generate(20, 40, 55, 7)) <>
       (SELECT md5(string_agg(puzzle || solution, ',')) FROM hrm_sudoku_generate(20, 40, 55, 8)) AS other_seed_other_rows;
SELECT md5(string_agg(puzzle || solution, ',')) AS seed_7_md5 FROM hrm_sudoku_generate(20, 40, 55, 7);
-- the one-knob form is the two-knob form with min = max
SELECT (SELECT array_agg(puzzle) FROM hrm_sudoku_generate(5, 50, 3)) =
       (SELECT array_agg(puzzle) FROM hrm_sudoku_generate(5, 50, 50, 3)) AS same_as_range;
SELECT count(*) AS puzzles,
       count(*) FILTER (WHERE hrm_sudoku_count_solutions(puzzle) = 1) AS unique_solution,
       count(*) FILTER (WHERE hrm_sudoku_solve_exact(puzzle) = solution) AS solver_agrees,
       count(*) FILTER (WHERE (hrm_sudoku_check(puzzle, solution)).valid
                          AND (hrm_sudoku_check(puzzle, solution)).keeps_givens) AS checker_agrees,
       min(81 - length(replace(puzzle, '.', ''))) AS min_blanks_seen,
       max(81 - length(replace(puzzle, '.', ''))) AS max_blanks_seen,
       count(DISTINCT 81 - length(replace(puzzle, '.', ''))) AS distinct_blank_counts
FROM hrm_sudoku_generate(200, 40, 55, 2024);
SELECT count(*) FILTER (WHERE length(puzzle) - length(replace(puzzle, '.', '')) = b) AS exact_blanks, b
FROM generate_series(0, 60, 15) b, hrm_sudoku_generate(5, b, b) GROUP BY b ORDER BY b;
SELECT count(*) AS zero_rows FROM hrm_sudoku_generate(0, 40, 1);
-- Called in the select list the rows stream, so LIMIT stops a huge n early
-- (in FROM, PostgreSQL would materialize all n rows first).
SELECT count(*) AS limited FROM (SELECT hrm_sudoku_generate(1000000, 40, 1) LIMIT 3) s;

-- ---------------------------------------------------------------------------
-- Augmentation (reference semantics) and its inverse.
SELECT * FROM hrm_sudoku_augmentation(7);
SELECT * FROM hrm_sudoku_augment((SELECT puzzle FROM known WHERE source = 'magictour' ORDER BY puzzle LIMIT 1),
                                 (SELECT answer FROM known WHERE source = 'magictour' ORDER BY puzzle LIMIT 1), 7);
-- Over many seeds: valid, unique, inverse recovers, and equal to the
-- explicit formula: transpose first, new cell (i, j) takes old cell
-- (row_perm[i], col_perm[j]), digit d becomes digit_map[d].
WITH runs AS (
    SELECT k.source, k.puzzle, k.answer, s AS seed, a.puzzle AS ap, a.solution AS aa
    FROM known k, generate_series(1, 25) s, hrm_sudoku_augment(k.puzzle, k.answer, s) a
), formula AS (
    SELECT r.seed, r.answer, r.aa,
           (SELECT string_agg(m.digit_map[substr(r.answer,
                        CASE WHEN m.transpose THEN (m.col_perm[j] - 1) * 9 + m.row_perm[i]
                             ELSE (m.row_perm[i] - 1) * 9 + m.col_perm[j] END, 1)::int]::text, '' ORDER BY i, j)
            FROM generate_series(1, 9) i, generate_series(1, 9) j) AS expected
    FROM runs r, hrm_sudoku_augmentation(r.seed) m
)
SELECT (SELECT count(*) FROM runs) AS runs,
       (SELECT count(*) FROM runs WHERE (hrm_sudoku_check(ap, aa)).valid AND (hrm_sudoku_check(ap, aa)).keeps_givens) AS still_valid,
       (SELECT count(*) FROM runs WHERE hrm_sudoku_solve_exact(ap) = aa AND hrm_sudoku_count_solutions(ap) = 1) AS still_unique,
       (SELECT count(*) FROM runs WHERE hrm_sudoku_augment_inverse(ap, seed) = puzzle AND hrm_sudoku_augment_inverse(aa, seed) = answer) AS inverted,
       (SELECT count(*) FROM runs WHERE length(replace(ap, '.', '')) = length(replace(puzzle, '.', ''))) AS same_givens,
       (SELECT count(*) FROM formula WHERE expected = aa) AS matches_formula,
       (SELECT count(DISTINCT aa) FROM runs) AS distinct_outputs;
SELECT count(*) FILTER (WHERE transpose) AS transposed, count(*) AS seeds,
       count(*) FILTER (WHERE digit_map[1:9] <> ARRAY[1,2,3,4,5,6,7,8,9]) AS relabelled
FROM generate_series(1, 1000) s, hrm_sudoku_augmentation(s);
-- the solution may be NULL: only the puzzle is transformed
SELECT a.solution IS NULL AS no_solution, a.puzzle = (hrm_sudoku_augment(k.puzzle, k.answer, 3)).puzzle AS same_puzzle
FROM known k, hrm_sudoku_augment(k.puzzle, NULL, 3) a ORDER BY k.puzzle LIMIT 1;

-- A long count can be cancelled (the solver polls for interrupts).
SET statement_timeout = '300ms';
SELECT hrm_sudoku_count_solutions(repeat('.', 81), 2000000000);
RESET statement_timeout;

-- ---------------------------------------------------------------------------
-- Bad input raises an ERROR with a specific SQLSTATE.
SELECT q, pg_temp.sqlstate(q) FROM (VALUES
    ($$SELECT hrm_sudoku_encode(repeat('.', 80))$$),
    ($$SELECT hrm_sudoku_encode(repeat('.', 82))$$),
    ($$SELECT hrm_sudoku_encode('12x' || repeat('.', 78))$$),
    ($$SELECT hrm_sudoku_encode('')$$),
    ($$SELECT hrm_sudoku_solve_exact(repeat('.', 40) || 'A' || repeat('.', 40))$$),
    ($$SELECT hrm_sudoku_check(repeat('.', 81), repeat('1', 80))$$),
    ($$SELECT hrm_sudoku_decode(array_fill(2, ARRAY[80]))$$),
    ($$SELECT hrm_sudoku_decode(array_fill(2, ARRAY[80]) || 0)$$),
    ($$SELECT hrm_sudoku_decode(array_fill(2, ARRAY[80]) || 11)$$),
    ($$SELECT hrm_sudoku_decode(array_fill(2, ARRAY[80]) || NULL::int)$$),
    ($$SELECT hrm_sudoku_count_solutions(repeat('.', 81), 0)$$),
    ($$SELECT * FROM hrm_sudoku_generate(1, 65, 1)$$),
    ($$SELECT * FROM hrm_sudoku_generate(1, -1, 1)$$),
    ($$SELECT * FROM hrm_sudoku_generate(1, 50, 40, 1)$$),
    ($$SELECT * FROM hrm_sudoku_generate(-1, 40, 1)$$),
    ($$SELECT * FROM hrm_sudoku_generate(1, 64, 1)$$),
    ($$SELECT hrm_sudoku_augment_inverse('123', 1)$$)
) t(q);
