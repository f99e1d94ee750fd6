-- Ensembles ("model bootstrapping"): a model and further models of its task
-- (here checkpoints of its training run, made models with
-- hrm_import(name, hrm_export_checkpoint(model, step))) solve every puzzle,
-- each with its own views and vote, and the members' answers are voted on
-- with the views' rule: answers that obey the rules and keep the givens
-- first, then the answer most members give, then the certainty, then the
-- earliest member (the model itself first).  hrm_solve, hrm_solve_detail,
-- hrm_solve_batch and hrm_evaluate take it.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;
SET hrm.shared_cache = off;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    hint text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END $$;

-- 1. A run with kept checkpoints at steps 10, 20 and 30.
CREATE TABLE ens_sudoku AS SELECT * FROM hrm_sudoku_generate(200, 20, 11);
SELECT steps, state FROM hrm_train('ens', 'ens_sudoku',
       '{"hidden_size": 32, "num_heads": 2, "batch_size": 16, "steps": 30, "checkpoint_every": 10, "keep": 3,
         "seed": 1, "threads": 1}');
SELECT array_agg(step ORDER BY step) AS kept FROM hrm.checkpoint WHERE model = 'ens';

-- 2. A checkpoint as a model: the last one holds the published weights, byte for byte.
SELECT hrm_import('ens_s10', hrm_export_checkpoint('ens', 10)),
       hrm_import('ens_s20', hrm_export_checkpoint('ens', 20)),
       hrm_import('ens_s30', hrm_export_checkpoint('ens', 30));
SELECT md5(hrm_export('ens_s30')) = md5(hrm_export('ens')) AS last_checkpoint_is_the_model,
       md5(hrm_export('ens_s10')) <> md5(hrm_export('ens')) AS first_differs;
SELECT name, task, arch FROM hrm.model WHERE name LIKE 'ens_s%' ORDER BY name;
SELECT hrm_export_checkpoint(NULL, 10) IS NULL AS null_model, hrm_export_checkpoint('ens', NULL) IS NULL AS null_step;
SELECT pg_temp.sqlstate($$SELECT hrm_export_checkpoint('ens', 15)$$);
SELECT pg_temp.sqlstate($$SELECT hrm_export_checkpoint('no_such_model', 10)$$);

-- 3. The vote, recomputed in SQL from each member alone (views => 2 each).
CREATE TEMP TABLE ens_p AS SELECT row_number() OVER () AS id, puzzle, solution FROM ens_sudoku LIMIT 24;
CREATE TEMP TABLE ens_alone AS
SELECT p.id, m.ord, d.solution AS answer, d.valid AND d.keeps_givens AS ok, d.certainty
  FROM ens_p p
 CROSS JOIN (VALUES (1, 'ens'), (2, 'ens_s10'), (3, 'ens_s20')) AS m(ord, name)
 CROSS JOIN LATERAL hrm_solve_detail(m.name, p.puzzle, views => 2) d;
CREATE TEMP TABLE ens_want AS
SELECT DISTINCT ON (id) id, answer, ord
  FROM (SELECT a.*, count(*) OVER (PARTITION BY id, answer) AS votes,
               max(certainty) OVER (PARTITION BY id, answer) AS best
          FROM ens_alone a) v
 ORDER BY id, ok DESC, votes DESC, best DESC, ord;
SELECT count(*) AS puzzles,
       count(*) FILTER (WHERE hrm_solve('ens', p.puzzle, views => 2, ensemble => ARRAY['ens_s10', 'ens_s20'])
                              = w.answer) AS as_the_rule_says,
       count(*) FILTER (WHERE w.ord > 1) > 0 AS a_checkpoint_won_somewhere
  FROM ens_p p JOIN ens_want w USING (id);
-- views run and agreeing count over the members
SELECT d.views_run, bool_and(d.views_agreeing BETWEEN 1 AND 6) AS agreeing_in_range, count(*)
  FROM ens_p p
 CROSS JOIN LATERAL hrm_solve_detail('ens', p.puzzle, views => 2, ensemble => ARRAY['ens_s10', 'ens_s20']) d
 GROUP BY d.views_run;
-- an empty ensemble is the model alone
SELECT bool_and(hrm_solve('ens', puzzle, ensemble => '{}') = hrm_solve('ens', puzzle)) AS empty_is_alone
  FROM ens_p;
-- the default model takes it too
SET hrm.default_model = 'ens';
SELECT bool_and(hrm_solve(puzzle, views => 2, ensemble => ARRAY['ens_s10', 'ens_s20'])
                = hrm_solve('ens', puzzle, views => 2, ensemble => ARRAY['ens_s10', 'ens_s20'])) AS default_model
  FROM ens_p;
RESET hrm.default_model;

-- 4. hrm_solve_batch answers as hrm_solve does, row by row.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE b.solution = hrm_solve('ens', p.puzzle, views => 2,
                                                     ensemble => ARRAY['ens_s10', 'ens_s20'])) AS same
  FROM hrm_solve_batch('ens', (SELECT array_agg(puzzle ORDER BY id) FROM ens_p), views => 2,
                       ensemble => ARRAY['ens_s10', 'ens_s20']) b
  JOIN ens_p p ON p.id = b.idx;
SELECT count(*) AS rows, bool_and(views_run = 6) AS views_run
  FROM hrm_solve_batch('ens', 'SELECT id, puzzle FROM ens_p', views => 2, ensemble => ARRAY['ens_s10', 'ens_s20']);

-- 5. hrm_evaluate scores the ensemble's answers.
SELECT e."rows",
       round(e.exact_accuracy::numeric, 6) = round((SELECT avg((hrm_solve('ens', puzzle,
                    ensemble => ARRAY['ens_s10', 'ens_s20']) = solution)::int) FROM ens_p)::numeric, 6) AS matches_hrm_solve
  FROM hrm_evaluate('ens', 'SELECT puzzle, solution FROM ens_p ORDER BY id',
                    '{"ensemble": ["ens_s10", "ens_s20"]}') e;
SELECT "rows" FROM hrm_evaluate('ens', 'SELECT puzzle, solution FROM ens_p', '{"ensemble": "ens_s10", "views": 2}');

-- 6. Refused: unknown, repeated or null members, the model itself, too many,
--    another task, a bad option.
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY['no_such_model']) FROM ens_p LIMIT 1$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY['ens_s10', 'ens_s10']) FROM ens_p LIMIT 1$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY['ens']) FROM ens_p LIMIT 1$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY['ens_s10', NULL]) FROM ens_p LIMIT 1$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY[['ens_s10'], ['ens_s20']]) FROM ens_p LIMIT 1$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])
                          FROM ens_p LIMIT 1$$);
CREATE TABLE ens_maze AS SELECT maze, solution FROM hrm_maze_generate(8, 10, 4, 1);
SELECT steps FROM hrm_train('ens_mz', 'ens_maze', '{"hidden_size": 16, "num_heads": 2, "batch_size": 4, "steps": 1, "threads": 1}');
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY['ens_mz']) FROM ens_p LIMIT 1$$);
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('ens', 'SELECT puzzle, solution FROM ens_p', '{"ensemble": ["ens_mz"]}')$$);
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('ens', 'SELECT puzzle, solution FROM ens_p', '{"ensemble": [1, 2]}')$$);
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('ens', 'SELECT puzzle, solution FROM ens_p', '{"ensemble": {"a": 1}}')$$);
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('ens', 'SELECT puzzle, solution FROM ens_p', '{"ensemble": [""]}')$$);

-- 7. Members one may not use are refused like the model itself (42501).
CREATE ROLE regress_hrm_ens;
GRANT SELECT ON ens_p TO regress_hrm_ens;
SELECT hrm_grant('ens', 'regress_hrm_ens');
SET ROLE regress_hrm_ens;
SELECT count(hrm_solve('ens', puzzle)) AS granted_model FROM ens_p;
SELECT pg_temp.sqlstate($$SELECT hrm_solve('ens', puzzle, ensemble => ARRAY['ens_s10']) FROM ens_p LIMIT 1$$) AS member_not_granted;
SELECT pg_temp.sqlstate($$SELECT hrm_export_checkpoint('ens_mz', 1)$$) AS checkpoint_not_granted;
RESET ROLE;

SELECT hrm_drop_model(name) FROM hrm.model WHERE name LIKE 'ens%' ORDER BY name;
DROP OWNED BY regress_hrm_ens;
DROP ROLE regress_hrm_ens;
