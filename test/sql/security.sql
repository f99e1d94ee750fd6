-- The security model (docs/security.md): owners and grants as PostgreSQL
-- shared dependencies (DROP ROLE refuses, REASSIGN OWNED and DROP OWNED
-- work, a re-created role inherits nothing), job ids per database
-- (hrm_cancel / hrm_wait of jobs that left shared memory), read-only
-- training sources, the per-role training limit, and DROP EXTENSION taking
-- the models' large objects with it.  pg_regress runs as a superuser; the
-- roles are dropped at the end.  Large object OIDs are masked as N.
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
    RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM || CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END,
                          'large object \d+', 'large object N', 'g');
END $$;

-- What a role may do with model m: run it (SQLSTATE or ok).
CREATE FUNCTION pg_temp.runs(m text) RETURNS text LANGUAGE sql AS $$
SELECT pg_temp.sqlstate(format('SELECT count(*) FROM hrm_forward(%L, array_fill(1, ARRAY[81]), 0, 1)', m))
$$;

-- The roles PostgreSQL records as depending on a model (its ACL object).
CREATE FUNCTION pg_temp.deps(m text) RETURNS text LANGUAGE sql AS $$
SELECT coalesce(string_agg(CASE d.deptype WHEN 'o' THEN 'owner ' WHEN 'a' THEN 'grant ' END || r.rolname,
                           ', ' ORDER BY d.deptype DESC, r.rolname), 'none')
  FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
 WHERE d.classid = 'pg_largeobject'::regclass
   AND d.objid = (SELECT acl_lo FROM hrm.model WHERE name = m)
$$;

DROP ROLE IF EXISTS regress_hrm_sec_owner, regress_hrm_sec_reader, regress_hrm_sec_heir,
    regress_hrm_sec_temp, regress_hrm_sec_trainer;
CREATE ROLE regress_hrm_sec_owner;
CREATE ROLE regress_hrm_sec_reader;
CREATE ROLE regress_hrm_sec_heir;
CREATE ROLE regress_hrm_sec_temp;

SELECT count(*) AS lo_before FROM pg_largeobject_metadata \gset
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
CREATE TABLE sec_fx (file bytea);
INSERT INTO sec_fx VALUES (decode(:'w', 'base64'));
\unset w
GRANT SELECT ON sec_fx TO PUBLIC;

-- 1. Owner and grants are shared dependencies of the model's ACL object.
SET ROLE regress_hrm_sec_owner;
SELECT hrm_import('sec-model', file) FROM sec_fx;
SELECT hrm_grant('sec-model', 'regress_hrm_sec_reader') AS granted;
SELECT name, owner, readers FROM hrm.models;
RESET ROLE;
SELECT pg_temp.deps('sec-model') AS dependencies;
SELECT lomowner::regrole AS acl_object_owner FROM pg_largeobject_metadata
 WHERE oid = (SELECT acl_lo FROM hrm.model WHERE name = 'sec-model');
-- the weights stay the catalog owner's: nobody else reads or writes them directly
SELECT lomowner = (SELECT relowner FROM pg_class WHERE oid = 'hrm.model'::regclass) AS weights_owned_by_catalog
  FROM pg_largeobject_metadata WHERE oid = (SELECT weights FROM hrm.model WHERE name = 'sec-model');

-- 2. DROP ROLE refuses while a role owns or was granted a model.
SELECT pg_temp.sqlstate('DROP ROLE regress_hrm_sec_owner') AS drop_owner;
SELECT pg_temp.sqlstate('DROP ROLE regress_hrm_sec_reader') AS drop_reader;
SELECT name, owner, readers FROM hrm.models;

-- 3. A role dropped and created again under the same name inherits no grant.
SELECT hrm_grant('sec-model', 'regress_hrm_sec_temp') AS granted_temp;
SET ROLE regress_hrm_sec_temp;
SELECT pg_temp.runs('sec-model') AS temp_runs;
RESET ROLE;
DROP OWNED BY regress_hrm_sec_temp;     -- revokes its grants (it owns nothing)
DROP ROLE regress_hrm_sec_temp;
CREATE ROLE regress_hrm_sec_temp;
SET ROLE regress_hrm_sec_temp;
SELECT pg_temp.runs('sec-model') AS recreated_runs;
RESET ROLE;
SELECT name, readers FROM hrm.models;
SELECT pg_temp.deps('sec-model') AS dependencies;

-- 4. REASSIGN OWNED hands the model over: the heir owns it, the old owner
--    no longer does; the grants stay.
INSERT INTO hrm.checkpoint (model, step, state) VALUES ('sec-model', 1, lo_from_bytea(0, '\x01'));
REASSIGN OWNED BY regress_hrm_sec_owner TO regress_hrm_sec_heir;
SELECT name, owner, readers FROM hrm.models;
SELECT pg_temp.deps('sec-model') AS dependencies;
SET ROLE regress_hrm_sec_owner;
SELECT pg_temp.sqlstate($$SELECT hrm_import('sec-model', file) FROM sec_fx$$) AS old_owner_replaces;
SELECT pg_temp.runs('sec-model') AS old_owner_runs;
RESET ROLE;
SET ROLE regress_hrm_sec_heir;
SELECT hrm_rename_model('sec-model', 'sec-heir') AS heir_renames;
RESET ROLE;
SET ROLE regress_hrm_sec_reader;
SELECT pg_temp.runs('sec-heir') AS reader_runs;
RESET ROLE;
DROP ROLE regress_hrm_sec_owner;

-- 5. DROP OWNED drops the role's models: rows, checkpoints, every large object.
SELECT count(*) - :lo_before AS large_objects_before_drop_owned FROM pg_largeobject_metadata;
DROP OWNED BY regress_hrm_sec_heir;
SELECT count(*) AS models, (SELECT count(*) FROM hrm.checkpoint) AS checkpoints FROM hrm.model;
SELECT count(*) - :lo_before AS large_objects_left FROM pg_largeobject_metadata;
SELECT pg_temp.runs('sec-heir') AS after_drop_owned;
DROP ROLE regress_hrm_sec_heir;
-- the reader's grant went with the model
DROP ROLE regress_hrm_sec_reader;

-- 6. A model whose ACL object was unlinked behind hrm's back has no owner:
--    only superusers use or drop it.
SELECT hrm_import('sec-orphan', file) FROM sec_fx;
SELECT hrm_grant('sec-orphan', 'public') AS granted_public;
SELECT lo_unlink(acl_lo) FROM hrm.model WHERE name = 'sec-orphan';
SELECT name, owner, readers FROM hrm.models;
SET ROLE regress_hrm_sec_temp;
SELECT pg_temp.runs('sec-orphan') AS orphan_runs;
SELECT pg_temp.sqlstate($$SELECT hrm_drop_model('sec-orphan')$$) AS orphan_drop;
RESET ROLE;
SELECT pg_temp.runs('sec-orphan') AS superuser_runs;
SELECT hrm_drop_model('sec-orphan');
SELECT count(*) - :lo_before AS large_objects_left FROM pg_largeobject_metadata;

-- 7. Job ids are per database: a job that left shared memory (its slot
--    reused, or a restart) is still known from hrm.job.
INSERT INTO hrm.job (id, model, role, state, step, start_step, examples, train_loss,
                     train_exact_accuracy, seconds, last_checkpoint, error, sqlstate)
VALUES (900000001, 'sec-gone', 'regress_hrm_sec_temp', 'finished', 40, 0, 640, 1.5, 0.25, 2.5, 40, NULL, NULL),
       (900000002, 'sec-gone', 'regress_hrm_sec_temp', 'failed', 7, 0, 112, NULL, NULL, 0.5, NULL, 'boom', '22000'),
       (900000003, 'sec-gone', current_user, 'running', 3, 0, 48, NULL, NULL, 0.1, NULL, NULL, NULL);
SELECT hrm_cancel(900000001) AS cancel_finished, hrm_cancel(900000003) AS cancel_lost;
SELECT job, steps, examples, train_loss, train_exact_accuracy, eval_exact_accuracy, seconds,
       last_checkpoint, state FROM hrm_wait(900000001);
SELECT pg_temp.sqlstate('SELECT hrm_wait(900000002)') AS wait_failed;
SELECT pg_temp.sqlstate('SELECT hrm_wait(900000003)') AS wait_lost;
SELECT pg_temp.sqlstate('SELECT hrm_cancel(900000009)') AS cancel_unknown;
SELECT pg_temp.sqlstate('SELECT hrm_wait(900000009)') AS wait_unknown;
-- only members of the role that started a job may cancel it
SET ROLE regress_hrm_sec_temp;
SELECT hrm_cancel(900000001) AS own_job;
SELECT pg_temp.sqlstate('SELECT hrm_cancel(900000003)') AS others_job;
RESET ROLE;
DELETE FROM hrm.job WHERE id BETWEEN 900000001 AND 900000003;

-- 8. A training source runs read-only, functions included (25006); the
--    caller's transaction is writable again afterwards.
SELECT hrm_import('sec-model', file, task => 'sudoku') FROM sec_fx;
CREATE TABLE sec_sudoku AS SELECT * FROM hrm_sudoku_generate(20, 20, 3);
CREATE TABLE sec_log (note text);
CREATE FUNCTION sec_writes() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sec_log VALUES ('the source wrote');
    RETURN true;
END $$;
CREATE SEQUENCE sec_seq;
SELECT pg_temp.sqlstate($$SELECT hrm_evaluate('sec-model', 'SELECT puzzle, solution FROM sec_sudoku WHERE sec_writes()')$$) AS evaluate_writes;
SELECT pg_temp.sqlstate($$SELECT hrm_train('sec-new', 'SELECT puzzle, solution FROM sec_sudoku WHERE sec_writes()', '{"steps": 1}')$$) AS train_writes;
SELECT pg_temp.sqlstate($$SELECT hrm_evaluate('sec-model', 'SELECT puzzle, solution FROM sec_sudoku WHERE nextval(''sec_seq'') > 0')$$) AS evaluate_nextval;
SELECT pg_temp.sqlstate($$SELECT hrm_evaluate('sec-model', 'WITH w AS (INSERT INTO sec_log VALUES (''x'') RETURNING 1) SELECT puzzle, solution FROM sec_sudoku')$$) AS evaluate_cte;
SELECT count(*) AS log_rows, (SELECT count(*) FROM hrm.model WHERE name = 'sec-new') AS new_models FROM sec_log;
BEGIN;
SELECT "rows" FROM hrm_evaluate('sec-model', 'SELECT puzzle, solution FROM sec_sudoku', '{"segments": 1}');
SHOW transaction_read_only;
INSERT INTO sec_log VALUES ('the caller writes after the source');
COMMIT;
SELECT count(*) AS log_rows FROM sec_log;

-- 9. hrm.max_training_jobs_per_role: one role cannot take every slot.
\set tiny '"arch": "hrm", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1, "batch_size": 4, "seed": 1, "threads": 1'
CREATE ROLE regress_hrm_sec_trainer;
GRANT SELECT ON sec_sudoku TO regress_hrm_sec_trainer;
SET hrm.max_training_jobs_per_role = 1;
SET ROLE regress_hrm_sec_trainer;
SELECT job AS tjob FROM hrm_train('sec-t1', 'sec_sudoku', ('{' || :'tiny' || ', "steps": 1000000}')::jsonb, wait => false) \gset
SELECT pg_temp.sqlstate($$SELECT hrm_train('sec-t2', 'sec_sudoku', '{"steps": 1}')$$) AS second_job;
SELECT hrm_cancel(:tjob) AS cancelled;
SELECT state FROM hrm_wait(:tjob);
RESET ROLE;
RESET hrm.max_training_jobs_per_role;
SELECT hrm_drop_model('sec-t1');
DROP OWNED BY regress_hrm_sec_trainer;
DROP ROLE regress_hrm_sec_trainer;

-- 10. DROP EXTENSION hrm drops the models and all their large objects
--     first (refused while a job of the database trains); dropping another
--     extension or schema leaves them alone.
INSERT INTO hrm.checkpoint (model, step, state) VALUES ('sec-model', 1, lo_from_bytea(0, '\x01'));
SELECT count(*) - :lo_before AS large_objects_before FROM pg_largeobject_metadata;
DROP EXTENSION IF EXISTS regress_hrm_no_such_extension;
CREATE SCHEMA sec_schema;
DROP SCHEMA sec_schema CASCADE;
SELECT count(*) AS models_kept FROM hrm.model;
SELECT job AS djob FROM hrm_train('sec-busy', 'sec_sudoku', ('{' || :'tiny' || ', "steps": 1000000}')::jsonb, wait => false) \gset
SELECT regexp_replace(pg_temp.sqlstate('DROP EXTENSION hrm'), '(job |hrm_cancel\()\d+', '\1N', 'g') AS drop_while_training;
SELECT hrm_cancel(:djob) AS cancelled;
SELECT state FROM hrm_wait(:djob);
SELECT hrm_drop_model('sec-busy');
DROP TABLE sec_fx, sec_sudoku, sec_log;
DROP FUNCTION sec_writes();
DROP SEQUENCE sec_seq;
SET client_min_messages = notice;
DROP EXTENSION hrm;
SET client_min_messages = warning;
SELECT count(*) - :lo_before AS large_objects_left FROM pg_largeobject_metadata;
CREATE EXTENSION hrm;
DROP ROLE regress_hrm_sec_temp;
