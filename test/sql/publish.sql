-- hrm_publish_checkpoint: a kept checkpoint's weights become the model's
-- again (byte for byte those the job published at that step, the same
-- answers), as a new generation with the checkpoint's metrics and its job's
-- hyperparameters, without leaking large objects; only the owner may; an
-- unknown model or step is 42704, a training model 55006.  A new (not
-- resumed) run keeps the previous run's last checkpoint, so that a fresh
-- retraining can be undone too.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
    hint text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
        || CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END $$;

CREATE TABLE pb_sudoku AS SELECT * FROM hrm_sudoku_generate(100, 20, 3);
-- the model's answers on a few puzzles, as one hash
CREATE FUNCTION pg_temp.answers(m text) RETURNS text LANGUAGE sql AS $$
    SELECT md5(string_agg(f.logits::text || f.q_halt || f.q_continue, ',' ORDER BY p.puzzle, f.segment))
      FROM (SELECT puzzle FROM pb_sudoku ORDER BY puzzle LIMIT 3) p,
           LATERAL hrm_forward(m, hrm_sudoku_encode(p.puzzle)) f
$$;

\set tiny '"arch": "hrm", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1, "batch_size": 16, "seed": 1, "threads": 1, "checkpoint_every": 5, "keep": 0'

-- 1. A run of 10 steps (checkpoints 5 and 10), then a resumed run to 20 steps
--    with a learning rate a hundred times larger: the retraining to undo.
SELECT state, steps FROM hrm_train('pb', 'pb_sudoku', ('{' || :'tiny' || ', "steps": 10}')::jsonb);
SELECT md5(hrm_export('pb')) AS w10, pg_temp.answers('pb') AS a10, generation AS g10,
       hyperparameters AS h10 FROM hrm.model WHERE name = 'pb' \gset
SELECT state, steps FROM hrm_train('pb', 'pb_sudoku', '{"resume": true, "steps": 20, "lr": 0.01}');
SELECT md5(hrm_export('pb')) AS w20, pg_temp.answers('pb') AS a20, generation AS g20 FROM hrm.model WHERE name = 'pb' \gset
SELECT :'w20' <> :'w10' AS retrained, hyperparameters->>'lr' AS lr FROM hrm.model WHERE name = 'pb';
SELECT step FROM hrm.checkpoint WHERE model = 'pb' ORDER BY step;
SELECT count(*) AS lo_before FROM pg_largeobject_metadata \gset

-- 2. Publish step 10: the weights, answers, metrics and hyperparameters of
--    step 10, a new generation, the same number of large objects (the
--    previous weights' was unlinked), every checkpoint kept.
SELECT hrm_publish_checkpoint('pb', 10) > :g20 AS new_generation;
SELECT md5(hrm_export('pb')) = :'w10' AS weights_of_step_10, pg_temp.answers('pb') = :'a10' AS answers_of_step_10,
       source, metrics->>'step' AS metrics_step, metrics ? 'hyperparameters' AS hyper_in_metrics,
       hyperparameters = :'h10'::jsonb AS hyperparameters_of_its_job, hyperparameters->>'lr' AS lr,
       config->>'hidden_size' AS hidden, generation = (SELECT last_value FROM hrm.generation_seq) AS latest
  FROM hrm.model WHERE name = 'pb';
SELECT count(*) - :lo_before AS new_large_objects FROM pg_largeobject_metadata;
SELECT (SELECT weights FROM hrm.model WHERE name = 'pb') IN (SELECT oid FROM pg_largeobject_metadata) AS weights_stored;
SELECT count(*) AS checkpoints FROM hrm.checkpoint WHERE model = 'pb';
-- the cache serves the published generation
SELECT count(*) > 0 AS solved FROM hrm_forward('pb', array_fill(1, ARRAY[81]));
SELECT c.generation = m.generation AS cache_current FROM hrm.cache c JOIN hrm.model m ON m.name = c.model
 WHERE c.model = 'pb';

-- 3. And forward again: step 20 gives back the retrained weights.
SELECT hrm_publish_checkpoint('pb', 20) > :g20 AS new_generation;
SELECT md5(hrm_export('pb')) = :'w20' AS weights_of_step_20, pg_temp.answers('pb') = :'a20' AS answers_of_step_20,
       hyperparameters->>'lr' AS lr
  FROM hrm.model WHERE name = 'pb';

-- 4. A checkpoint written before checkpoints kept their job's
--    hyperparameters: the optimizer's, read from the training state.
UPDATE hrm.checkpoint SET metrics = metrics - 'hyperparameters' WHERE model = 'pb' AND step = 5;
SELECT hrm_publish_checkpoint('pb', 5) IS NOT NULL AS published;
SELECT hyperparameters->>'lr' AS lr, hyperparameters->>'batch_size' AS batch, hyperparameters ? 'task' AS has_task,
       metrics->>'step' AS metrics_step
  FROM hrm.model WHERE name = 'pb';

-- 5. Errors.
-- no such step, no such model, a model without checkpoints: 42704
SELECT pg_temp.err($$SELECT hrm_publish_checkpoint('pb', 7)$$);
SELECT pg_temp.err($$SELECT hrm_publish_checkpoint('pb_none', 5)$$);
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('pb_imported', decode(:'w', 'base64'));
SELECT pg_temp.err($$SELECT hrm_publish_checkpoint('pb_imported', 5)$$);
-- NULL model or step: NULL
SELECT hrm_publish_checkpoint(NULL, 5) IS NULL AS strict_model, hrm_publish_checkpoint('pb', NULL) IS NULL AS strict_step;
-- another role, even one the model was granted to: 42501, nothing changes
DROP ROLE IF EXISTS pb_reader;
CREATE ROLE pb_reader;
SELECT hrm_grant('pb', 'pb_reader');
SELECT generation AS g_before FROM hrm.model WHERE name = 'pb' \gset
SET ROLE pb_reader;
SELECT pg_temp.err($$SELECT hrm_publish_checkpoint('pb', 10)$$);
RESET ROLE;
SELECT generation = :g_before AS unchanged FROM hrm.model WHERE name = 'pb';
SELECT hrm_revoke('pb', 'pb_reader');
DROP ROLE pb_reader;
-- a damaged checkpoint state: 22P03, the model unchanged, nothing leaked
INSERT INTO hrm.checkpoint (model, step, state) VALUES ('pb', 99, lo_from_bytea(0, '\x0102'));
SELECT count(*) AS lo_before FROM pg_largeobject_metadata \gset
SELECT pg_temp.err($$SELECT hrm_publish_checkpoint('pb', 99)$$) ~ '^22P03' AS damaged;
SELECT generation = :g_before AS unchanged FROM hrm.model WHERE name = 'pb';
SELECT count(*) - :lo_before AS new_large_objects FROM pg_largeobject_metadata;
DELETE FROM hrm.checkpoint WHERE model = 'pb' AND step = 99;
-- while a job trains the model: 55006
SELECT job AS job FROM hrm_train('pb', 'pb_sudoku', '{"resume": true, "steps": 1000000}', wait => false) \gset
SELECT regexp_replace(pg_temp.err($$SELECT hrm_publish_checkpoint('pb', 10)$$), '(job |\()\d+', '\1N', 'g') AS training;
SELECT hrm_cancel(:job) IS NOT NULL AS asked;
SELECT state IN ('cancelled', 'finished') AS ended FROM hrm_wait(:job);
SELECT md5(hrm_export('pb')) <> :'w10' AS trained_on, hrm_publish_checkpoint('pb', 10) IS NOT NULL AS published_again;
SELECT md5(hrm_export('pb')) = :'w10' AS weights_of_step_10 FROM hrm.model WHERE name = 'pb';

-- 6. A new run (not resumed) keeps the previous run's last checkpoint: the
--    weights the retraining replaced can be published again.  Runs are
--    numbered by the job that started them; resumed jobs continue theirs.
SELECT run AS run_a, max(step) AS last_a FROM hrm.checkpoint WHERE model = 'pb' GROUP BY run \gset
SELECT hrm_publish_checkpoint('pb', :last_a) IS NOT NULL AS published_last;
SELECT md5(hrm_export('pb')) AS w_last_a, pg_temp.answers('pb') AS a_last_a FROM hrm.model WHERE name = 'pb' \gset
SELECT state, steps FROM hrm_train('pb', 'pb_sudoku', ('{' || :'tiny' || ', "steps": 10, "seed": 2, "lr": 0.01}')::jsonb);
SELECT count(DISTINCT run) AS runs, count(*) FILTER (WHERE run = :run_a) AS kept_of_the_first_run,
       max(step) FILTER (WHERE run = :run_a) = :last_a AS its_last,
       array_agg(step ORDER BY step) FILTER (WHERE run > :run_a) AS new_run_steps
  FROM hrm.checkpoint WHERE model = 'pb';
SELECT run AS run_b FROM hrm.checkpoint WHERE model = 'pb' AND run > :run_a LIMIT 1 \gset
SELECT md5(hrm_export('pb')) <> :'w_last_a' AS retrained;
-- undo: the first run's last checkpoint, by step and run
SELECT hrm_publish_checkpoint('pb', :last_a, :run_a) IS NOT NULL AS undone;
SELECT md5(hrm_export('pb')) = :'w_last_a' AS weights_before_the_retraining,
       pg_temp.answers('pb') = :'a_last_a' AS answers_before_the_retraining;
-- without a run: the newest run with that step
SELECT hrm_publish_checkpoint('pb', 10) IS NOT NULL AS published;
SELECT md5(hrm_export('pb')) <> :'w_last_a' AS of_the_new_run;
SELECT hrm_publish_checkpoint('pb', 10, NULL) IS NOT NULL AS null_run_is_any_run;
-- a step the run does not have, an unknown run: 42704, the runs listed
SELECT regexp_replace(regexp_replace(pg_temp.err(format('SELECT hrm_publish_checkpoint(%L, 5, %s)', 'pb', :run_a)),
                      'steps \d+ \(', 'steps L ('), 'run \d+', 'run N', 'g') AS no_such_step;
SELECT pg_temp.err(format('SELECT hrm_publish_checkpoint(%L, 5, %s)', 'pb', :run_b + 1000)) ~ '^42704' AS no_such_run;
-- resuming continues the newest run
SELECT state, steps FROM hrm_train('pb', 'pb_sudoku', '{"resume": true, "steps": 15}');
SELECT array_agg(step ORDER BY step) FILTER (WHERE run = :run_b) AS second_run_steps,
       count(*) FILTER (WHERE run = :run_a) AS first_run_kept
  FROM hrm.checkpoint WHERE model = 'pb';
-- a third run: the second run's last checkpoint stays, the rest of the earlier runs goes
SELECT state, steps FROM hrm_train('pb', 'pb_sudoku', ('{' || :'tiny' || ', "steps": 5}')::jsonb);
SELECT run = :run_b AS second_run, step FROM hrm.checkpoint WHERE model = 'pb' AND run <= :run_b;
SELECT count(*) AS third_run_checkpoints FROM hrm.checkpoint WHERE model = 'pb' AND run > :run_b;

SELECT hrm_drop_model('pb'), hrm_drop_model('pb_imported');
DROP TABLE pb_sudoku;
