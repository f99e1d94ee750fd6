-- Task toolkit, ARC and grids: dihedral transforms, colour permutations,
-- the 30x30 token layout with EOS borders, the evaluator crop, augmentation,
-- the ARC-AGI JSON loader, and bad input with its SQLSTATE.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The top-left rows x cols of a 900-token canvas: '.' PAD, 'E' EOS, digits colours.
CREATE FUNCTION pg_temp.canvas(t int[], nrows int, ncols int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg((SELECT string_agg(CASE t[r * 30 + c + 1] WHEN 0 THEN '.' WHEN 1 THEN 'E'
                                              ELSE (t[r * 30 + c + 1] - 2)::text END, '' ORDER BY c)
                       FROM generate_series(0, ncols - 1) c), E'\n' ORDER BY r)
    FROM generate_series(0, nrows - 1) r
$$;

-- A random grid (deterministic: colours from a hash of the position and a salt).
CREATE FUNCTION pg_temp.grid(nrows int, ncols int, salt int) RETURNS int[] LANGUAGE sql AS $$
    SELECT array_agg(row ORDER BY r) FROM (
        SELECT r, array_agg(abs(hashint4(r * 1000 + c * 7 + salt)) % 10 ORDER BY c) AS row
        FROM generate_series(1, nrows) r, generate_series(1, ncols) c GROUP BY r) s
$$;

-- ---------------------------------------------------------------------------
-- Dihedral transforms with the reference ids (dataset/common.py):
-- 0 identity, 1 rot90 ccw, 2 rot180, 3 rot90 cw, 4 flip left-right,
-- 5 flip up-down, 6 transpose, 7 anti-transpose; inverse [0,3,2,1,4,5,6,7].
SELECT t, hrm_grid_transform('{{1,2,3},{4,5,6}}', t) AS transformed,
       hrm_grid_transform_inverse(hrm_grid_transform('{{1,2,3},{4,5,6}}', t), t) AS back
FROM generate_series(0, 7) t;
-- any int grid, any size: round trips over many shapes
SELECT count(*) AS checks,
       count(*) FILTER (WHERE hrm_grid_transform_inverse(hrm_grid_transform(g, t), t) = g) AS inverted,
       count(*) FILTER (WHERE hrm_grid_transform(hrm_grid_transform(g, t), CASE t WHEN 1 THEN 3 WHEN 3 THEN 1 ELSE t END) = g) AS inverse_table
FROM (SELECT pg_temp.grid(r, c, r * c) AS g FROM generate_series(1, 31, 5) r, generate_series(1, 31, 6) c) s,
     generate_series(0, 7) t;
-- lower bounds are normalised to 1
SELECT hrm_grid_transform('[0:1][5:6]={{1,2},{3,4}}'::int[], 0) AS rebased;

-- ---------------------------------------------------------------------------
-- Colour permutations: colour c becomes colors[c + 1].
SELECT hrm_arc_permute_colors('{{0,1,2},{3,9,9}}', '{0,2,1,3,4,5,6,7,8,9}') AS swapped_1_2,
       hrm_arc_color_perm_inverse('{0,3,1,2,4,5,6,7,9,8}') AS inverse,
       hrm_arc_permute_colors(hrm_arc_permute_colors('{{0,1,2},{3,8,9}}', '{0,3,1,2,4,5,6,7,9,8}'),
                              hrm_arc_color_perm_inverse('{0,3,1,2,4,5,6,7,9,8}')) AS back;

-- ---------------------------------------------------------------------------
-- Token layout: colour c -> c + 2, EOS 1 below and right of the grid where
-- they fit, the corner PAD; offsets translate the grid.
SELECT pg_temp.canvas(hrm_arc_encode('{{0,1,2},{3,4,9}}'), 4, 5) AS at_origin;
SELECT pg_temp.canvas(hrm_arc_encode('{{0,1,2},{3,4,9}}', 1, 2), 5, 7) AS translated;
SELECT array_length(t, 1) AS tokens,
       (SELECT count(*) FROM unnest(t) x WHERE x = 1) AS eos,
       (SELECT count(*) FROM unnest(t) x WHERE x >= 2) AS colours
FROM (SELECT hrm_arc_encode('{{0,1,2},{3,4,9}}') AS t) s;
-- full-width and full-height grids have no EOS on that side
SELECT (SELECT count(*) FROM unnest(hrm_arc_encode(pg_temp.grid(30, 30, 1))) x WHERE x = 1) AS eos_30x30,
       (SELECT count(*) FROM unnest(hrm_arc_encode(pg_temp.grid(30, 4, 1))) x WHERE x = 1) AS eos_30x4,
       (SELECT count(*) FROM unnest(hrm_arc_encode(pg_temp.grid(4, 30, 1))) x WHERE x = 1) AS eos_4x30,
       (SELECT count(*) FROM unnest(hrm_arc_encode(pg_temp.grid(2, 3, 1), 28, 27)) x WHERE x = 1) AS eos_corner;
-- decode is the exact inverse at every offset; crop reads untranslated grids
SELECT count(*) AS checks,
       count(*) FILTER (WHERE hrm_arc_decode(hrm_arc_encode(g, ro, co)) = g) AS decoded,
       count(*) FILTER (WHERE ro = 0 AND co = 0) AS untranslated,
       count(*) FILTER (WHERE ro = 0 AND co = 0 AND hrm_arc_crop(hrm_arc_encode(g)) = g) AS cropped
FROM (SELECT r, c, pg_temp.grid(r, c, r + c) AS g FROM generate_series(1, 30, 3) r, generate_series(1, 30, 4) c) s,
     LATERAL (VALUES (0, 0), (30 - r, 30 - c), ((30 - r) / 2, (30 - c) / 3)) o(ro, co);
-- the reference evaluator's crop of a ragged prediction: 1x4, 2x3, 3x3 -> 3x3
SELECT hrm_arc_crop(array_fill(0, ARRAY[900])) IS NULL AS empty_prediction,
       hrm_arc_crop(ARRAY[2,3,4,5] || array_fill(0, ARRAY[26]) ||
                    ARRAY[3,3,3] || array_fill(0, ARRAY[27]) ||
                    ARRAY[4,4,4,4,4] || array_fill(0, ARRAY[835])) AS cropped;

-- ---------------------------------------------------------------------------
-- Augmentation: a dihedral transform and a permutation of colours 1..9
-- (colour 0 fixed), drawn from the seed, applied to input and output.
SELECT * FROM hrm_arc_augment('{{0,1,2},{3,4,5}}', '{{6,7},{8,9}}', 42);
SELECT count(*) AS seeds,
       count(*) FILTER (WHERE hrm_arc_permute_colors(hrm_grid_transform_inverse(a.input, a.transform),
                                                     hrm_arc_color_perm_inverse(a.colors)) = i.g
                          AND hrm_arc_permute_colors(hrm_grid_transform_inverse(a.output, a.transform),
                                                     hrm_arc_color_perm_inverse(a.colors)) = o.g) AS inverted,
       count(*) FILTER (WHERE a.colors[1] = 0) AS colour_0_fixed,
       count(DISTINCT a.transform) AS transforms_seen,
       count(*) FILTER (WHERE a = hrm_arc_augment(i.g, o.g, s)) AS deterministic
FROM generate_series(1, 200) s,
     LATERAL (SELECT pg_temp.grid(3 + s % 7, 2 + s % 11, s) AS g) i,
     LATERAL (SELECT pg_temp.grid(1 + s % 5, 4 + s % 9, -s) AS g) o,
     LATERAL hrm_arc_augment(i.g, o.g, s) a;
SELECT output IS NULL AS no_output, transform FROM hrm_arc_augment('{{1}}', NULL, 42);

-- ---------------------------------------------------------------------------
-- ARC-AGI JSON: the plain task object and the jsonl wrapper.
SELECT * FROM hrm_arc_load('{"train": [{"input": [[1,2],[3,4]], "output": [[5]]},
                                       {"input": [[0]], "output": [[9,9,9]]}],
                             "test": [{"input": [[7,7]]}, {"input": [[1]], "output": null},
                                      {"input": [[2]], "output": [[3]]}]}');
SELECT * FROM hrm_arc_load('{"id": "abc123", "sha256": "x", "task": {"train": [], "test": [{"input": [[4]], "output": [[6]]}]}}');
SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": [[4]]}]}', 'named');
SELECT count(*) AS no_rows FROM hrm_arc_load(NULL);

-- Real tasks: the first 25 of the ARC-AGI-1 and the first 10 of the ARC-AGI-2
-- evaluation sets (jsonl, test/data/arc; always the copies in the repository,
-- so the counts below are fixed): every task loads, grids round-trip through
-- the token codec.  `make test-engine HRM_DATA=DIR` loads whole sets.
\set arc1 `cat test/data/arc/arc_agi_1_evaluation.jsonl`
\set arc2 `cat test/data/arc/arc_agi_2_evaluation.jsonl`
CREATE TEMP TABLE arc AS
SELECT f.name AS collection, p.*
FROM (VALUES ('arc_agi_1', :'arc1'), ('arc_agi_2', :'arc2')) f(name, body),
     regexp_split_to_table(f.body, E'\n') line,
     hrm_arc_load(line::jsonb) p
WHERE line <> '';
\unset arc1
\unset arc2
SELECT collection, count(DISTINCT task_id) AS tasks,
       count(*) FILTER (WHERE split = 'train') AS train_pairs,
       count(*) FILTER (WHERE split = 'test') AS test_pairs,
       count(*) FILTER (WHERE output IS NULL) AS missing_outputs,
       count(*) FILTER (WHERE hrm_arc_decode(hrm_arc_encode(input)) = input
                          AND hrm_arc_decode(hrm_arc_encode(output)) = output) AS round_trips,
       max(greatest(array_length(input, 1), array_length(input, 2))) AS largest_side
FROM arc GROUP BY collection ORDER BY collection;
SELECT task_id, split, pair_index, input, output FROM arc
WHERE task_id = '00576224' ORDER BY collection, split DESC, pair_index;
DROP TABLE arc;

-- ---------------------------------------------------------------------------
-- Bad input raises an ERROR with a specific SQLSTATE.
SELECT q, pg_temp.sqlstate(q) FROM (VALUES
    ($$SELECT hrm_grid_transform('{1,2,3}', 1)$$),
    ($$SELECT hrm_grid_transform('{{1,NULL},{3,4}}', 1)$$),
    ($$SELECT hrm_grid_transform('{{1,2},{3,4}}', 8)$$),
    ($$SELECT hrm_grid_transform('{}', 0)$$),
    ($$SELECT '{{1,2},{3}}'::int[]$$),
    ($$SELECT hrm_arc_encode(array_fill(1, ARRAY[31, 2]))$$),
    ($$SELECT hrm_arc_encode(array_fill(1, ARRAY[2, 31]))$$),
    ($$SELECT hrm_arc_encode('{{1,10}}')$$),
    ($$SELECT hrm_arc_encode('{{-1}}')$$),
    ($$SELECT hrm_arc_encode('{{1,2}}', 0, 29)$$),
    ($$SELECT hrm_arc_encode('{{1,2}}', -1, 0)$$),
    ($$SELECT hrm_arc_decode(array_fill(0, ARRAY[899]))$$),
    ($$SELECT hrm_arc_decode(array_fill(0, ARRAY[900]))$$),
    ($$SELECT hrm_arc_decode(array_fill(12, ARRAY[900]))$$),
    ($$SELECT hrm_arc_decode(array_fill(1, ARRAY[900]))$$),
    ($$SELECT hrm_arc_decode(hrm_arc_encode('{{1,2}}') || 0)$$),
    ($$SELECT hrm_arc_decode((hrm_arc_encode('{{1,2},{3,4}}'))[1:899] || 5)$$),
    ($$SELECT hrm_arc_crop(array_fill(0, ARRAY[10]))$$),
    ($$SELECT hrm_arc_permute_colors('{{1}}', '{0,1,2}')$$),
    ($$SELECT hrm_arc_permute_colors('{{1}}', '{0,1,2,3,4,5,6,7,8,8}')$$),
    ($$SELECT hrm_arc_permute_colors('{{1}}', '{0,1,2,3,4,5,6,7,8,10}')$$),
    ($$SELECT hrm_arc_color_perm_inverse('{0,1,2,3,4,5,6,7,8,NULL}')$$),
    ($$SELECT * FROM hrm_arc_augment('{{1}}', '{{1,2},{3,11}}', 1)$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [')$$),
    ($$SELECT * FROM hrm_arc_load('[1, 2]')$$),
    ($$SELECT * FROM hrm_arc_load('{"test": []}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": []}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": {}, "test": []}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [5], "test": []}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [{"output": [[1]]}], "test": []}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [{"input": [[1]]}], "test": []}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": [[1], [2, 3]]}]}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": []}]}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": [[]]}]}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": [[1, "2"]]}]}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": [[1.5]]}]}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": [[10]]}]}')$$),
    ($$SELECT * FROM hrm_arc_load('{"train": [], "test": [{"input": [1, 2]}]}')$$),
    ($$SELECT * FROM hrm_arc_load(jsonb_build_object('train', '[]'::jsonb, 'test',
        jsonb_build_array(jsonb_build_object('input', (SELECT jsonb_agg('[0]'::jsonb) FROM generate_series(1, 31))))))$$),
    ($$SELECT * FROM hrm_arc_load(jsonb_build_object('train', '[]'::jsonb, 'test',
        jsonb_build_array(jsonb_build_object('input', jsonb_build_array((SELECT jsonb_agg(0) FROM generate_series(1, 31)))))))$$),
    ($$SELECT * FROM hrm_arc_load('{"id": 5, "task": {"train": [], "test": []}}')$$),
    ($$SELECT * FROM hrm_arc_load('{"id": "a", "task": []}')$$)
) t(q);

-- Synthetic tasks in ARC's format: the rows, determinism, families and rules.
SELECT count(*) AS rows, count(DISTINCT task_id) AS tasks,
       count(*) FILTER (WHERE split = 'train') AS train, count(*) FILTER (WHERE split = 'test') AS test,
       min(pair_index) AS first_index, max(pair_index) FILTER (WHERE split = 'train') AS last_train_index,
       bool_and(hrm_arc_encode(input) IS NOT NULL AND hrm_arc_encode(output) IS NOT NULL) AS valid_grids,
       bool_and(array_length(input, 1) BETWEEN 3 AND 10 AND array_length(input, 2) BETWEEN 3 AND 10) AS input_sides
FROM hrm_arc_generate(30, 7);
-- task k depends only on (seed, k): a longer stream starts with a shorter one; another seed differs
SELECT (SELECT string_agg(t::text, ';' ORDER BY task_id, split, pair_index) FROM hrm_arc_generate(10, 7) t) =
       (SELECT string_agg(t::text, ';' ORDER BY task_id, split, pair_index) FROM hrm_arc_generate(30, 7) t
        WHERE right(task_id, 6)::int < 10) AS prefix_stable,
       (SELECT string_agg(input::text, ';') FROM hrm_arc_generate(10, 7)) <>
       (SELECT string_agg(input::text, ';') FROM hrm_arc_generate(10, 8)) AS seeds_differ;
-- every family is drawn when none is named; the task id names the family
SELECT family, count(DISTINCT task_id) > 5 AS drawn, bool_and(task_id LIKE family || '-%') AS id_names_family
FROM hrm_arc_generate(300, 1, 1, 0) GROUP BY family ORDER BY family;
-- the rules read back from the grids: border paints the ring and keeps the inside,
-- scale multiplies both sides, dihedral flips and rotations are hrm_grid_transform
SELECT family, count(*) AS pairs,
       bool_and(CASE family
           WHEN 'border' THEN
               (SELECT bool_and(output[r][c] = CASE WHEN r IN (1, array_length(input, 1)) OR c IN (1, array_length(input, 2))
                                                   THEN substr(rule, 8)::int ELSE input[r][c] END)
                FROM generate_series(1, array_length(input, 1)) r, generate_series(1, array_length(input, 2)) c)
           WHEN 'scale' THEN
               array_length(output, 1) = substr(rule, 8)::int * array_length(input, 1) AND
               array_length(output, 2) = substr(rule, 8)::int * array_length(input, 2) AND
               output[array_length(output, 1)][array_length(output, 2)] = input[array_length(input, 1)][array_length(input, 2)]
           WHEN 'dihedral' THEN
               output = hrm_grid_transform(input, CASE rule WHEN 'rotate 90 counter-clockwise' THEN 1 WHEN 'rotate 180' THEN 2
                   WHEN 'rotate 90 clockwise' THEN 3 WHEN 'flip left-right' THEN 4 WHEN 'flip up-down' THEN 5
                   WHEN 'transpose' THEN 6 WHEN 'anti-transpose' THEN 7 END)
       END) AS rule_holds
FROM hrm_arc_generate(40, 3, 3, 1, 8, '{border,scale,dihedral}') GROUP BY family ORDER BY family;
SELECT DISTINCT family FROM hrm_arc_generate(20, 3, 1, 0, 5, '{majority,majority}');
SELECT task_id, split, pair_index, input, output, rule FROM hrm_arc_generate(2, 5, 2, 1, 3, '{recolor,gravity}');
SELECT count(*) FROM hrm_arc_generate(0, 1);
SELECT count(*) FROM hrm_arc_generate(5, 1, 0, 0);
-- a training table: one puzzle id per task
CREATE TEMP TABLE arc_syn AS
SELECT dense_rank() OVER (ORDER BY task_id) AS puzzle_id, split, input, output
FROM hrm_arc_generate(12, 2024);
SELECT count(DISTINCT puzzle_id) AS ids, min(puzzle_id), max(puzzle_id) FROM arc_syn;

SELECT q, pg_temp.sqlstate(q) FROM (VALUES
    ($$SELECT * FROM hrm_arc_generate(-1, 1)$$),
    ($$SELECT * FROM hrm_arc_generate(1000001, 1)$$),
    ($$SELECT * FROM hrm_arc_generate(1, 1, 1001)$$),
    ($$SELECT * FROM hrm_arc_generate(1, 1, 3, -1)$$),
    ($$SELECT * FROM hrm_arc_generate(1, 1, 3, 1, 2)$$),
    ($$SELECT * FROM hrm_arc_generate(1, 1, 3, 1, 31)$$),
    ($$SELECT * FROM hrm_arc_generate(1, 1, 3, 1, 10, '{rotate}')$$),
    ($$SELECT * FROM hrm_arc_generate(1, 1, 3, 1, 10, '{scale,NULL}')$$),
    ($$SELECT * FROM hrm_arc_generate(1, 1, 3, 1, 10, '{{scale},{crop}}')$$)
) t(q);
