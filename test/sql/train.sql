-- hrm_train / hrm_wait / hrm_cancel / hrm_evaluate: a short run whose loss
-- goes down, checkpoints and the training log, a resumed run bit-identical to
-- an uninterrupted one (stopped by a step budget, by hrm_cancel, and by
-- cancelling the waiting caller), pruning with "keep" (large objects
-- unlinked), the card form hrm_train(table), and bad sources and options
-- rejected with their SQLSTATEs.
--
-- Models are tiny (hidden 32, one layer per level, one thread) so the runs
-- take a second or so; the output holds no timings and no figures that
-- depend on the generated puzzles, only facts that hold at one thread.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

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

-- Wait until a model's running job has reached a step.
CREATE FUNCTION pg_temp.wait_for_step(m text, s bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3000 LOOP
        IF EXISTS (SELECT FROM hrm.training WHERE model = m AND database = current_database()
                    AND state = 'running' AND step >= s) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN false;
END $$;

-- Wait until a model has no running job.
CREATE FUNCTION pg_temp.wait_idle(m text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3000 LOOP
        IF NOT EXISTS (SELECT FROM hrm.training WHERE model = m AND database = current_database()
                        AND state = 'running') THEN
            RETURN (SELECT state FROM hrm.job WHERE model = m ORDER BY id DESC LIMIT 1);
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN 'still running';
END $$;

SELECT count(*) AS lo_before FROM pg_largeobject_metadata \gset

CREATE TABLE train_sudoku AS SELECT * FROM hrm_sudoku_generate(200, 20, 7);

\set tiny '"arch": "hrm", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1, "batch_size": 16, "seed": 1, "threads": 1'

-- 1. A short run: checkpoints and log rows at multiples of their intervals,
--    the loss goes down, the model is published and usable.
SELECT steps, examples, state, last_checkpoint, train_loss > 0 AS has_loss,
       eval_exact_accuracy BETWEEN 0 AND 1 AS has_eval
  FROM hrm_train('t_short', 'train_sudoku',
                 ('{' || :'tiny' || ', "steps": 60, "log_every": 10, "checkpoint_every": 30}')::jsonb);
SELECT step, checkpoint, eval_exact_accuracy IS NOT NULL AS evaluated
  FROM hrm.training_log WHERE model = 't_short' ORDER BY step;
SELECT (SELECT loss FROM hrm.training_log WHERE model = 't_short' ORDER BY step DESC LIMIT 1) <
       (SELECT loss FROM hrm.training_log WHERE model = 't_short' ORDER BY step LIMIT 1) AS loss_decreased;
SELECT step, state_bytes > 0 AS has_state, metrics->'options'->>'steps' AS steps_option
  FROM hrm.checkpoint WHERE model = 't_short' ORDER BY step;
SELECT name, arch, task, source, config->>'hidden_size' AS hidden, config->>'halt_max_steps' AS halt_max_steps,
       hyperparameters->>'batch_size' AS batch, hyperparameters->>'lr' AS lr, metrics->>'step' AS step
  FROM hrm.model WHERE name = 't_short';
SELECT state, start_step, step, examples, total_steps, last_checkpoint, error, options->>'steps' AS steps
  FROM hrm.job WHERE model = 't_short';
SELECT count(*) AS segments FROM hrm_forward('t_short', (SELECT hrm_sudoku_encode(puzzle) FROM train_sudoku LIMIT 1));

-- 2. hrm_evaluate in this backend.
SELECT "rows", exact_accuracy BETWEEN 0 AND 1 AS exact_ok, token_accuracy BETWEEN 0 AND 1 AS token_ok,
       mean_segments, rows_per_second > 0 AS timed
  FROM hrm_evaluate('t_short', 'train_sudoku');
SELECT "rows", mean_segments
  FROM hrm_evaluate('t_short', 'SELECT solution AS s, puzzle AS p FROM train_sudoku',
                    '{"input": "p", "target": "s", "max_rows": 50, "segments": 2}');
-- the solution given as its own input is copied almost everywhere... at least the givens
SELECT "rows" FROM hrm_evaluate('t_short', 'VALUES (repeat(''.'', 81), repeat(''1'', 81))');

-- 3. Resume after a step budget: the same weights as an uninterrupted run,
--    whatever order the source returns its rows in.
SELECT steps, last_checkpoint FROM hrm_train('t_a', 'train_sudoku',
       ('{' || :'tiny' || ', "steps": 40, "checkpoint_every": 10, "keep": 2}')::jsonb);
SELECT steps, last_checkpoint FROM hrm_train('t_b', 'train_sudoku',
       ('{' || :'tiny' || ', "steps": 15, "checkpoint_every": 10, "keep": 2}')::jsonb);
SELECT array_agg(state ORDER BY step) AS first_states FROM hrm.checkpoint WHERE model = 't_b' \gset
SELECT step FROM hrm.checkpoint WHERE model = 't_b' ORDER BY step;
SELECT steps, examples, last_checkpoint, state
  FROM hrm_train('t_b', 'SELECT * FROM train_sudoku ORDER BY md5(puzzle)', '{"steps": 40, "resume": true}');
SELECT md5(hrm_export('t_a')) = md5(hrm_export('t_b')) AS resumed_equals_uninterrupted;
SELECT model, step FROM hrm.checkpoint WHERE model IN ('t_a', 't_b') ORDER BY model, step;
-- pruned checkpoints took their large objects with them
SELECT count(*) AS pruned_large_objects_left
  FROM pg_largeobject_metadata WHERE oid = ANY (:'first_states'::oid[])
   AND oid NOT IN (SELECT state FROM hrm.checkpoint);
SELECT start_step, step, examples FROM hrm.job WHERE model = 't_b' ORDER BY id;
-- a resume with nothing left to do returns at once
SELECT steps, examples, state FROM hrm_train('t_b', 'train_sudoku', '{"steps": 40, "resume": true}');

-- 4. Resume after hrm_cancel: the job commits a checkpoint where it stopped.
SELECT job AS cjob, state FROM hrm_train('t_c', 'train_sudoku',
       ('{' || :'tiny' || ', "steps": 40, "checkpoint_every": 10}')::jsonb, wait => false) \gset
SELECT :'state' AS state_at_once;
SELECT pg_temp.wait_for_step('t_c', 5) AS progressing;
SELECT hrm_cancel(:cjob) AS cancelled;
SELECT state, steps < 40 AS stopped_early, last_checkpoint = steps AS checkpoint_where_stopped FROM hrm_wait(:cjob);
SELECT hrm_cancel(:cjob) AS cancel_again;
SELECT state, step = last_checkpoint AS checkpointed FROM hrm.job WHERE id = :cjob;
SELECT steps, state FROM hrm_train('t_c', 'train_sudoku', '{"resume": true}');
SELECT md5(hrm_export('t_a')) = md5(hrm_export('t_c')) AS resumed_equals_uninterrupted;

-- 5. Cancelling the waiting caller cancels the job (it keeps a checkpoint).
SET statement_timeout = '2500ms';
SELECT steps FROM hrm_train('t_d', 'train_sudoku', ('{' || :'tiny' || ', "steps": 1000000}')::jsonb);
RESET statement_timeout;
SELECT pg_temp.wait_idle('t_d') AS job_state;
SELECT state, step = last_checkpoint AS checkpointed, total_steps FROM hrm.training
 WHERE model = 't_d' AND database = current_database();
SELECT count(*) AS checkpoints FROM hrm.checkpoint WHERE model = 't_d';

-- 6. An existing model continues from its weights (a fresh optimizer, a new
--    run: the old run's checkpoints replaced but its last, step 60, kept for
--    hrm_publish_checkpoint); architecture options must match it.
SELECT generation AS gen_before FROM hrm.model WHERE name = 't_short' \gset
SELECT steps, state FROM hrm_train('t_short', 'train_sudoku', '{"steps": 10, "threads": 1, "hidden_size": 32}');
SELECT generation > :gen_before AS new_generation, metrics->>'step' AS step FROM hrm.model WHERE name = 't_short';
SELECT step, run = (SELECT max(run) FROM hrm.checkpoint WHERE model = 't_short') AS new_run
  FROM hrm.checkpoint WHERE model = 't_short' ORDER BY run, step;

-- 7. Other data: maze text and generic token arrays (task told from the data).
CREATE TABLE train_maze AS SELECT * FROM hrm_maze_generate(20, 6, 4, 3);
SELECT steps, state FROM hrm_train('t_maze', 'train_maze',
       ('{' || :'tiny' || ', "batch_size": 4, "steps": 3, "eval_fraction": 0}')::jsonb);
SELECT task, config->>'seq_len' AS seq_len, config->>'vocab_size' AS vocab FROM hrm.model WHERE name = 't_maze';
SELECT steps, state, eval_exact_accuracy IS NOT NULL AS evaluated FROM hrm_train('t_gen',
       'SELECT ARRAY[i % 5, (i + 1) % 5, 2, 3], ARRAY[(i + 1) % 5, (i + 2) % 5, 3, 4] FROM generate_series(1, 40) i',
       ('{' || :'tiny' || ', "steps": 3, "eval_source": "SELECT ARRAY[1, 2, 2, 3], ARRAY[2, 3, 3, 4]"}')::jsonb);
SELECT task IS NULL AS generic, config->>'seq_len' AS seq_len, config->>'vocab_size' AS vocab FROM hrm.model WHERE name = 't_gen';
SELECT "rows" FROM hrm_evaluate('t_gen', 'SELECT ARRAY[1, 2, 2, 3], ARRAY[2, 3, 3, -100]');
-- ARC grids as 2-D arrays of colours
SELECT steps, state FROM hrm_train('t_arc', 'VALUES (''{{1,2},{3,4}}''::int[], ''{{4,3},{2,1}}''::int[])',
       ('{' || :'tiny' || ', "batch_size": 2, "steps": 1, "eval_fraction": 0}')::jsonb);
SELECT task, config->>'seq_len' AS seq_len, config->>'vocab_size' AS vocab FROM hrm.model WHERE name = 't_arc';
-- synthetic ARC tasks with a puzzle id per task: a new model gets a puzzle embedding as wide as
-- itself unless puzzle_emb_ndim says otherwise (0: none)
SELECT steps, state FROM hrm_train('t_arc_ids',
       $$SELECT input, output, dense_rank() OVER (ORDER BY task_id)::int AS pid FROM hrm_arc_generate(6, 1, 2, 0, 4)$$,
       ('{' || :'tiny' || ', "puzzle_id": "pid", "batch_size": 4, "steps": 1, "eval_fraction": 0}')::jsonb);
SELECT steps FROM hrm_train('t_arc_noemb',
       $$SELECT input, output, dense_rank() OVER (ORDER BY task_id)::int AS pid FROM hrm_arc_generate(6, 1, 2, 0, 4)$$,
       ('{' || :'tiny' || ', "puzzle_id": "pid", "puzzle_emb_ndim": 0, "batch_size": 4, "steps": 1, "eval_fraction": 0}')::jsonb);
SELECT name, config->>'puzzle_emb_ndim' AS puzzle_emb_ndim, config->>'num_puzzle_identifiers' AS ids
  FROM hrm.model WHERE name IN ('t_arc', 't_arc_ids', 't_arc_noemb') ORDER BY name;
SELECT hrm_solve('t_arc_ids', (SELECT input FROM hrm_arc_generate(6, 1, 2, 0, 4) LIMIT 1), puzzle_id => 6) IS NOT NULL AS solves_with_id;
SELECT hrm_drop_model('t_arc_ids'), hrm_drop_model('t_arc_noemb');
SELECT pg_temp.sqlstate($$SELECT hrm_evaluate('t_arc', 'VALUES (''{{1,2},{3,10}}''::int[], ''{{1}}''::int[])')$$);
-- hrm_solve on an ARC model: int[rows][cols] colour grids in, the predicted
-- grid out (the reference evaluator's crop of the token answer), puzzle_id,
-- and views over the dihedral transforms and colour permutations
SELECT hrm_solve_task('t_arc');
SELECT hrm_solve('t_arc', '{{1,2},{3,4}}'::int[]) IS NOT DISTINCT FROM
       hrm_arc_crop(hrm_solve('t_arc', hrm_arc_encode('{{1,2},{3,4}}'::int[]))) AS grid_is_cropped_tokens;
SELECT coalesce(array_ndims(a), 2) = 2 AS two_dims, coalesce(array_length(a, 1), 0) <= 30 AS rows_fit,
       (SELECT bool_and(c BETWEEN 0 AND 9) FROM unnest(a) c) IS NOT FALSE AS colours
  FROM (SELECT hrm_solve('t_arc', '{{1,2,0},{3,4,5}}'::int[]) AS a) s;
SELECT array_length(hrm_solve('t_arc', hrm_arc_encode('{{1}}'::int[])), 1) AS token_answer;
SELECT d.solution IS NOT DISTINCT FROM hrm_solve('t_arc', '{{1,2},{3,4}}'::int[]) AS same_answer,
       views_run, valid IS NULL AS no_checker
  FROM hrm_solve_detail('t_arc', '{{1,2},{3,4}}'::int[]) d;
SELECT d.solution IS NOT DISTINCT FROM hrm_solve('t_arc', '{{1,2},{3,4}}'::int[], views => 8) AS same_voted_answer,
       views_run, views_agreeing BETWEEN 1 AND 8 AS agreeing, valid IS NULL AS no_checker
  FROM hrm_solve_detail('t_arc', '{{1,2},{3,4}}'::int[], views => 8) d;
SELECT hrm_solve('t_arc', '{{1,2},{3,4}}'::int[], puzzle_id => 0) IS NOT DISTINCT FROM
       hrm_solve('t_arc', '{{1,2},{3,4}}'::int[]) AS explicit_puzzle_id;
SELECT count(*) AS segments FROM hrm_trace('t_arc', '{{1,2},{3,4}}'::int[], 2, 'fixed', puzzle_id => 0);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', '{{1,2},{3,4}}'::int[], puzzle_id => 1000)$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', '{{1,2},{3,4}}'::int[], puzzle_id => -1)$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', '{{1,2},{3,10}}'::int[])$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', array_fill(1, ARRAY[31, 2]))$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', '{1,2,3}'::int[])$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', '12'::text)$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', '{{1,2},{3,4}}'::int[], views => 65)$$);
SELECT pg_temp.sqlstate($$SELECT hrm_solve('t_arc', hrm_arc_encode('{{1}}'::int[]), views => 2)$$);

-- 8. The card form: hrm_train(table) trains hrm.default_model with the
--    recipe's defaults (stopped here by a statement timeout).
SET hrm.default_model = 't_card';
SET statement_timeout = '3s';
SELECT steps FROM hrm_train('train_sudoku'::regclass);
RESET statement_timeout;
SELECT pg_temp.wait_idle('t_card') AS job_state;
SELECT task, config->>'arch' AS arch, config->>'hidden_size' AS hidden, config->>'H_layers' AS h_layers, config->>'halt_max_steps' AS halt,
       hyperparameters->>'batch_size' AS batch, hyperparameters->>'max_minutes' AS max_minutes
  FROM hrm.model WHERE name = 't_card';
RESET hrm.default_model;

-- 9. Bad sources.
CREATE TABLE train_bad (id int, input text, target text, tokens int[], grid int[]);
INSERT INTO train_bad VALUES
    (1, repeat('1', 81), repeat('1', 81), '{1,2}', '{{1,2},{3,4}}'),
    (2, repeat('2', 81), NULL, '{1,2}', '{{1}}'),
    (3, repeat('x', 81), repeat('1', 81), '{1,2,3}', '{{1}}');
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'no_such_table')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT FROM WHERE')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT puzzle FROM train_sudoku')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT id, input FROM train_bad')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_bad', '{"input": "nope"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT input, target FROM train_bad ORDER BY id')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT input, input FROM train_bad ORDER BY id')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT input, input FROM train_bad WHERE id = 1', '{"task": "maze"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT tokens, tokens FROM train_bad ORDER BY id')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT tokens, tokens FROM train_bad', '{"task": "sudoku"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT tokens, tokens FROM train_bad WHERE id < 3', '{"vocab_size": 2}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT input, target FROM train_bad WHERE false')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'WITH d AS (DELETE FROM train_bad RETURNING input, target) SELECT * FROM d')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_short', 'SELECT ARRAY[1, 2], ARRAY[1, 2]')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_short', 'train_maze')$$);
SET hrm.max_training_data = '1MB';
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'SELECT repeat(''1'', 81), repeat(''1'', 81) FROM generate_series(1, 10000)')$$);
RESET hrm.max_training_data;

-- 10. Bad options.
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"stpes": 10}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '[1, 2]')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"steps": -1}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"steps": 2.5}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"lr": "fast"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"loss_type": "mse"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"checkpoint_every": "2 fortnights"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"augment": 1}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"hidden_size": 30, "num_heads": 4}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_maze', '{"curriculum_steps": 100}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_short', 'train_sudoku', '{"hidden_size": 64}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_short', 'train_sudoku', '{"task": "maze"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_err', 'train_sudoku', '{"resume": true}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_a', 'train_sudoku', '{"resume": true, "batch_size": 8}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_a', 'SELECT * FROM train_sudoku LIMIT 100', '{"resume": true, "steps": 50}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('bad name ' || repeat('x', 80), 'train_sudoku')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_evaluate('no_such_model', 'train_sudoku')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_evaluate('t_short', 'train_sudoku', '{"steps": 10}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_evaluate('t_short', 'train_maze')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_cancel(123456789)$$);
SELECT pg_temp.sqlstate($$SELECT hrm_wait(123456789)$$);

-- 11. One job per model, hrm.max_training_jobs, and owners.
SELECT job AS bjob FROM hrm_train('t_busy', 'train_sudoku',
       ('{' || :'tiny' || ', "steps": 1000000}')::jsonb, wait => false) \gset
SELECT pg_temp.wait_for_step('t_busy', 1) AS started;
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_busy', 'train_sudoku', '{"steps": 5}')$$);
SET hrm.max_training_jobs = 1;
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_other', 'train_sudoku', '{"steps": 5}')$$);
RESET hrm.max_training_jobs;
CREATE ROLE regress_hrm_trainer;
GRANT SELECT ON train_sudoku TO regress_hrm_trainer;
SET ROLE regress_hrm_trainer;
SELECT pg_temp.sqlstate(format('SELECT hrm_cancel(%s)', :bjob));
SELECT pg_temp.sqlstate($$SELECT hrm_train('t_short', 'train_sudoku', '{"steps": 5}')$$);
SELECT steps, state FROM hrm_train('t_mine', 'train_sudoku', ('{' || :'tiny' || ', "steps": 2}')::jsonb);
RESET ROLE;
SELECT owner FROM hrm.models WHERE name = 't_mine';
SELECT hrm_cancel(:bjob) AS cancelled;
SELECT state FROM hrm_wait(:bjob);

-- Clean up: every large object goes with its model.
SELECT hrm_drop_model(name) FROM hrm.model WHERE name LIKE 't\_%' ORDER BY name;
SELECT count(*) - :lo_before AS large_objects_left FROM pg_largeobject_metadata;
DROP TABLE train_sudoku, train_maze, train_bad;
DROP ROLE regress_hrm_trainer;
