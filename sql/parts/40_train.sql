
-- ---------------------------------------------------------------------------
-- 40_train: training inside the database (background workers, checkpoints,
-- live progress, resume) and evaluation.  docs/train.md.
-- ---------------------------------------------------------------------------

-- Job ids; a job's row is written by its worker as it runs.
CREATE SEQUENCE hrm.job_seq;
COMMENT ON SEQUENCE hrm.job_seq IS 'hrm: training job ids';

CREATE TABLE hrm.job (
    id                   bigint      PRIMARY KEY,
    model                text        NOT NULL,
    role                 name,
    source               text,
    options              jsonb,
    state                text        NOT NULL CHECK (state IN ('running', 'finished', 'cancelled', 'failed')),
    pid                  integer,
    started              timestamptz NOT NULL DEFAULT now(),
    finished             timestamptz,
    start_step           bigint,
    step                 bigint,
    total_steps          bigint,
    examples             bigint,
    train_loss           double precision,
    train_exact_accuracy double precision,
    eval_exact_accuracy  double precision,
    seconds              double precision,
    last_checkpoint      bigint,
    error                text,
    sqlstate             text
);
COMMENT ON TABLE hrm.job IS 'hrm: every training job of this database and how it ended (hrm.training shows the live state)';
COMMENT ON COLUMN hrm.job.options IS 'the options the job was started with (resume merges them with the new call''s)';
COMMENT ON COLUMN hrm.job.start_step IS 'trainer step the job began at (0, or the step of the checkpoint it resumed)';
COMMENT ON COLUMN hrm.job.step IS 'trainer step reached';
COMMENT ON COLUMN hrm.job.examples IS 'examples drawn by this job (steps x batch_size)';
COMMENT ON COLUMN hrm.job.last_checkpoint IS 'step of the last checkpoint the job committed';
COMMENT ON COLUMN hrm.job.sqlstate IS 'SQLSTATE of the error a failed job ended with';

CREATE TABLE hrm.training_log (
    job                 bigint      NOT NULL,
    model               text        NOT NULL,
    step                bigint      NOT NULL,
    logged              timestamptz NOT NULL DEFAULT now(),
    elapsed             double precision,
    train_seconds       double precision,
    examples            bigint,
    loss                double precision,
    accuracy            double precision,
    exact_accuracy      double precision,
    lr                  double precision,
    epochs              double precision,
    examples_per_second double precision,
    eval_exact_accuracy double precision,
    eval_token_accuracy double precision,
    checkpoint          boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (job, step)
);
COMMENT ON TABLE hrm.training_log IS 'hrm: training curves: one row every log_every and at every checkpoint (loss and accuracies are means since the previous row; eval_* at checkpoints)';
COMMENT ON COLUMN hrm.training_log.elapsed IS 'seconds since the job began training (wall clock)';
COMMENT ON COLUMN hrm.training_log.train_seconds IS 'seconds spent in training steps (without checkpoints and their evaluations: what max_minutes counts)';
COMMENT ON COLUMN hrm.training_log.accuracy IS 'token accuracy of the training batches';
COMMENT ON COLUMN hrm.training_log.exact_accuracy IS 'fraction of training examples entirely right';
COMMENT ON COLUMN hrm.training_log.eval_exact_accuracy IS 'held-out exact accuracy (checkpoint rows)';
CREATE INDEX training_log_model ON hrm.training_log (model, job, step);

SELECT pg_catalog.pg_extension_config_dump('hrm.job', '');
SELECT pg_catalog.pg_extension_config_dump('hrm.training_log', '');
SELECT pg_catalog.pg_extension_config_dump('hrm.job_seq', '');

REVOKE ALL ON hrm.job, hrm.training_log FROM PUBLIC;
GRANT SELECT ON hrm.job, hrm.training_log TO PUBLIC;

-- Training ---------------------------------------------------------------------

CREATE FUNCTION hrm_train(model text, source text, options jsonb DEFAULT '{}', wait boolean DEFAULT NULL,
                          OUT job bigint, OUT steps bigint, OUT examples bigint,
                          OUT train_loss double precision, OUT train_exact_accuracy double precision,
                          OUT eval_exact_accuracy double precision, OUT seconds double precision,
                          OUT last_checkpoint bigint, OUT state text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_train_pg'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_train(text, text, jsonb, boolean) IS
    'hrm: train model (new or existing) on a table, view or query of (input, target) rows in a background worker that commits checkpoints; waits with NOTICE progress unless wait is false; options: docs/train.md';

CREATE FUNCTION hrm_train(source regclass,
                          OUT job bigint, OUT steps bigint, OUT examples bigint,
                          OUT train_loss double precision, OUT train_exact_accuracy double precision,
                          OUT eval_exact_accuracy double precision, OUT seconds double precision,
                          OUT last_checkpoint bigint, OUT state text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_train_default_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_train(regclass) IS
    'hrm: train the model named by hrm.default_model (created with the recipe defaults for the task found in the data) on the table''s first two columns (input, target) for up to 10 minutes';

CREATE FUNCTION hrm_wait(id bigint, progress double precision DEFAULT 0,
                         OUT job bigint, OUT steps bigint, OUT examples bigint,
                         OUT train_loss double precision, OUT train_exact_accuracy double precision,
                         OUT eval_exact_accuracy double precision, OUT seconds double precision,
                         OUT last_checkpoint bigint, OUT state text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_wait_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_wait(bigint, double precision) IS
    'hrm: wait for a training job of this database to end and return its result (NOTICE progress every progress seconds when > 0); cancelling the wait does not stop the job';

CREATE FUNCTION hrm_cancel(job bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'hrm_cancel_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_cancel(bigint) IS
    'hrm: ask a training job to stop; it commits a last checkpoint ({"resume": true} continues from it); false if it had already ended';

CREATE FUNCTION hrm_training_jobs(OUT job bigint, OUT dboid oid, OUT model text, OUT roleid oid,
                                  OUT pid integer, OUT state text, OUT step bigint,
                                  OUT total_steps bigint, OUT loss double precision,
                                  OUT accuracy double precision, OUT exact_accuracy double precision,
                                  OUT eval_exact_accuracy double precision,
                                  OUT examples_per_second double precision,
                                  OUT started timestamptz, OUT updated timestamptz,
                                  OUT last_checkpoint bigint, OUT last_checkpoint_at timestamptz,
                                  OUT eta interval, OUT error text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'hrm_training_jobs_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION hrm_training_jobs() IS
    'hrm: the training jobs in shared memory (running, and ended ones until their slot is reused) of every database (other databases'' jobs only for superusers and pg_read_all_stats); hrm.training shows this database''s';

CREATE VIEW hrm.training AS
SELECT t.job,
       d.datname AS database,
       t.model,
       r.rolname AS role,
       t.pid,
       t.state,
       t.step,
       t.total_steps,
       t.loss,
       t.accuracy,
       t.exact_accuracy,
       t.eval_exact_accuracy,
       t.examples_per_second,
       t.started,
       t.updated,
       t.last_checkpoint,
       t.last_checkpoint_at,
       t.eta,
       t.error
  FROM hrm_training_jobs() t
  LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) t.dboid
  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) t.roleid
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
 ORDER BY t.started, t.job;
COMMENT ON VIEW hrm.training IS 'hrm: live state of the training jobs of this database (job ids are per database), from shared memory: step of total, loss, accuracy, examples/s, last checkpoint, ETA, error; hrm_training_jobs() shows every database';
GRANT SELECT ON hrm.training TO PUBLIC;

-- Evaluation -------------------------------------------------------------------

CREATE FUNCTION hrm_evaluate(model text, source text, options jsonb DEFAULT '{}',
                             OUT "rows" bigint, OUT exact_accuracy double precision,
                             OUT token_accuracy double precision, OUT mean_segments double precision,
                             OUT rows_per_second double precision)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_evaluate_pg'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_evaluate(text, text, jsonb) IS
    'hrm: run a model on a table, view or query of (input, target) rows in this backend: exact and token accuracy of the argmax, mean segments, rows per second; options segments, halt, max_rows, batch_rows, input, target, puzzle_id, views (test-time scaling over the task''s symmetries)';
