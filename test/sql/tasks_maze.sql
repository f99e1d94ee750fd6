-- Task toolkit, mazes: codec (top-left on a 30x30 PAD canvas), BFS solver,
-- rule checker, generator (Lehnert et al. recipe), dihedral transforms,
-- and bad input with its SQLSTATE.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- A 5x7 maze; rows joined by newlines.
CREATE TEMP TABLE m AS SELECT
    E'S      \n#####  \n       \n  #### \n      G' AS maze;

-- ---------------------------------------------------------------------------
-- Codec: '#' 1, ' ' 2, 'S' 3, 'G' 4, 'o' 5, PAD 0; 900 tokens.
SELECT array_length(t, 1) AS tokens,
       t[1:8] AS row_1_first_8,
       t[31:38] AS row_2_first_8,
       t[121:128] AS row_5_first_8,
       t[151:158] AS row_6_first_8,
       (SELECT count(*) FROM unnest(t) x WHERE x = 0) AS pad_tokens
FROM (SELECT hrm_maze_encode(maze) AS t FROM m) s;
SELECT hrm_maze_decode(hrm_maze_encode(maze)) = maze AS round_trip FROM m;
-- a trailing newline and CRLF line ends are accepted
SELECT hrm_maze_decode(hrm_maze_encode(E'S #\r\n# G\r\n')) = E'S #\n# G' AS crlf;
-- a 900-character line (the reference CSV format) is a 30x30 maze
SELECT hrm_maze_decode(hrm_maze_encode(q), 30) = (SELECT string_agg(substr(q, 30 * r + 1, 30), E'\n' ORDER BY r)
                                                  FROM generate_series(0, 29) r) AS csv_line,
       hrm_maze_encode(q) = hrm_maze_encode((SELECT string_agg(substr(q, 30 * r + 1, 30), E'\n' ORDER BY r)
                                             FROM generate_series(0, 29) r)) AS same_tokens
FROM (SELECT 'S' || repeat(' #', 449) || 'G' AS q) s;

-- ---------------------------------------------------------------------------
-- BFS: a shortest path marked 'o' (ties: up, down, left, right from S), its
-- length in cells (S and G included), NULL when G cannot be reached.
SELECT hrm_maze_solve(maze) AS solved, hrm_maze_path_length(maze) AS cells FROM m;
SELECT hrm_maze_solve('S#G') IS NULL AS unreachable, hrm_maze_path_length('S#G') AS no_length,
       hrm_maze_solve('SG') AS adjacent, hrm_maze_path_length('SG') AS adjacent_length;

-- ---------------------------------------------------------------------------
-- Rule checker.
SELECT k, c.*
FROM m, LATERAL (VALUES
    ('bfs answer',   hrm_maze_solve(maze)),
    ('other shortest', E'Soooooo\n##### o\n      o\n  ####o\n      G'),
    ('not connected', E'S      \n#####  \nooooooo\no #### \nooooooG'),
    ('detour',       E'Soooooo\n#####oo\nooooooo\no #### \nooooooG'),
    ('stray o',      E'Sooooo \n#####o \no    oo\n  ####o\n      G'),
    ('through wall', E'Soooooo\n####o  \n      o\n  #### \n      G'),
    ('moved G',      E'Sooooo \n#####o \n     oo\n  ####o\n     G '),
    ('other shape',  E'oooooo\nS    G'),
    ('unmarked',     maze)
) v(k, answer), hrm_maze_check(maze, answer) c;
SELECT * FROM hrm_maze_check('S#G', 'S#G');

-- ---------------------------------------------------------------------------
-- Generator: deterministic for a seed; every solution is a shortest path of
-- at least min_path_length cells; 30% to 50% walls; one S and one G.
SELECT * FROM hrm_maze_generate(2, 6, 8, 42);
SELECT (SELECT md5(string_agg(maze || solution, ',')) FROM hrm_maze_generate(10, 30, 60, 7)) =
       (SELECT md5(string_agg(maze || solution, ',')) FROM hrm_maze_generate(10, 30, 60, 7)) AS same_seed_same_rows,
       (SELECT md5(string_agg(maze || solution, ',')) FROM hrm_maze_generate(10, 30, 60, 7)) <>
       (SELECT md5(string_agg(maze || solution, ',')) FROM hrm_maze_generate(10, 30, 60, 8)) AS other_seed_other_rows;
SELECT md5(string_agg(maze || solution, ',')) AS seed_7_md5 FROM hrm_maze_generate(10, 30, 60, 7);
SELECT size, min_len, count(*) AS mazes,
       count(*) FILTER (WHERE (hrm_maze_check(maze, solution)).valid
                          AND (hrm_maze_check(maze, solution)).shortest) AS shortest_solutions,
       count(*) FILTER (WHERE hrm_maze_solve(maze) = solution) AS bfs_agrees,
       count(*) FILTER (WHERE hrm_maze_path_length(maze) >= min_len) AS long_enough,
       count(*) FILTER (WHERE walls BETWEEN ceil(0.3 * size * size - 1e-9) AND floor(0.5 * size * size)) AS walls_in_range,
       count(*) FILTER (WHERE length(maze) - length(replace(maze, 'S', '')) = 1
                          AND length(maze) - length(replace(maze, 'G', '')) = 1) AS one_s_one_g,
       count(*) FILTER (WHERE array_length(string_to_array(maze, E'\n'), 1) = size) AS rows_ok
FROM (VALUES (5, 5), (10, 20), (20, 40), (30, 90)) p(size, min_len),
     LATERAL (SELECT g.*, length(g.maze) - length(replace(g.maze, '#', '')) AS walls
              FROM hrm_maze_generate(20, size, min_len, size) g) x
GROUP BY size, min_len ORDER BY size;
SELECT count(*) AS zero_rows FROM hrm_maze_generate(0, 30, 110, 1);
SELECT count(*) AS limited FROM (SELECT hrm_maze_generate(1000000, 30, 30, 1) LIMIT 3) s;

-- ---------------------------------------------------------------------------
-- Dihedral transforms (reference ids) of maze text, with their inverses;
-- the transformed solution is a shortest path of the transformed maze.
SELECT t, hrm_maze_transform(E'S #\n  G', t) AS transformed FROM generate_series(0, 7) t;
SELECT count(*) AS checks,
       count(*) FILTER (WHERE hrm_maze_transform_inverse(hrm_maze_transform(maze, t), t) = maze) AS inverted,
       count(*) FILTER (WHERE (hrm_maze_check(hrm_maze_transform(maze, t), hrm_maze_transform(solution, t))).shortest) AS still_shortest,
       count(*) FILTER (WHERE hrm_maze_decode(hrm_maze_encode(hrm_maze_transform(maze, t)))
                              = hrm_maze_transform(maze, t)) AS codec_round_trip
FROM hrm_maze_generate(5, 12, 15, 3), generate_series(0, 7) t;

-- A hopeless search can be cancelled (checked every 100 wall layouts).
SET statement_timeout = '300ms';
SELECT * FROM hrm_maze_generate(1, 30, 600, 1);
RESET statement_timeout;

-- ---------------------------------------------------------------------------
-- Bad input raises an ERROR with a specific SQLSTATE.
SELECT q, pg_temp.sqlstate(q) FROM (VALUES
    ($$SELECT hrm_maze_encode(E'S x\nG  ')$$),
    ($$SELECT hrm_maze_encode(E'S \nG  ')$$),
    ($$SELECT hrm_maze_encode('')$$),
    ($$SELECT hrm_maze_encode(repeat(E' \n', 31))$$),
    ($$SELECT hrm_maze_encode(repeat(' ', 31) || E'\n')$$),
    ($$SELECT hrm_maze_encode(repeat(' ', 961))$$),
    ($$SELECT hrm_maze_decode(array_fill(2, ARRAY[899]))$$),
    ($$SELECT hrm_maze_decode(array_fill(0, ARRAY[900]))$$),
    ($$SELECT hrm_maze_decode(array_fill(7, ARRAY[900]))$$),
    ($$SELECT hrm_maze_decode(overlay(hrm_maze_encode(E'S \n G')::text PLACING '3' FROM 100)::int[])$$),
    ($$SELECT hrm_maze_decode(hrm_maze_encode(E'S \n G'), 3)$$),
    ($$SELECT hrm_maze_decode(hrm_maze_encode(E'S \n G'), 31)$$),
    ($$SELECT hrm_maze_decode(array_fill(NULL::int, ARRAY[900]))$$),
    ($$SELECT hrm_maze_solve('S S G')$$),
    ($$SELECT hrm_maze_solve('S  ')$$),
    ($$SELECT hrm_maze_path_length('SoG')$$),
    ($$SELECT hrm_maze_check('SSG', 'SSG')$$),
    ($$SELECT hrm_maze_check(E'S\nG', E'S\nx')$$),
    ($$SELECT hrm_maze_transform('SG', 8)$$),
    ($$SELECT hrm_maze_transform_inverse('SG', -1)$$),
    ($$SELECT * FROM hrm_maze_generate(1, 1, 0, 1)$$),
    ($$SELECT * FROM hrm_maze_generate(1, 31, 10, 1)$$),
    ($$SELECT * FROM hrm_maze_generate(1, 10, 71, 1)$$),
    ($$SELECT * FROM hrm_maze_generate(1, 10, -1, 1)$$),
    ($$SELECT * FROM hrm_maze_generate(-1, 10, 10, 1)$$),
    ($$SELECT * FROM hrm_maze_generate(1, 10, 70, 1)$$)
) t(q);
