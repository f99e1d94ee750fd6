-- The model catalog: import, export, replace, rename, drop, permissions,
-- and errors with their SQLSTATEs.  Fixtures come from
-- $HRM_FIXTURES (default test/fixtures, the copies in the repository).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

-- SQLSTATE and message of a statement, or 'ok'; runs in a subtransaction.
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Large objects and catalog rows, to check that nothing is left behind
-- (a model has two: its weights and its ACL object).
CREATE FUNCTION pg_temp.footprint() RETURNS text LANGUAGE sql AS $$
SELECT format('%s models, %s checkpoints, %s large objects',
              (SELECT count(*) FROM hrm.model), (SELECT count(*) FROM hrm.checkpoint),
              (SELECT count(*) FROM pg_largeobject_metadata))
$$;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
CREATE TEMP TABLE fx (name text PRIMARY KEY, file bytea);
INSERT INTO fx VALUES ('sudoku-tiny', decode(:'w', 'base64'));
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
INSERT INTO fx VALUES ('grid-puzzle-ids', decode(:'w', 'base64'));
\unset w
SELECT name, length(file) FROM fx ORDER BY name;

SELECT pg_temp.footprint() AS before;

-- Import both fixtures (configuration from the files' hrm_config metadata).
SELECT hrm_import(name, file) FROM fx ORDER BY name;
SELECT name, arch, task, n_params, size, config, generation > 0 AS has_generation,
       source, owner = current_user AS owned
  FROM hrm.models;
SELECT name, config->>'hidden_size' AS hidden, config->>'num_heads' AS heads,
       config->>'puzzle_emb_ndim' AS puzzle_emb_ndim, config->>'pos_encodings' AS pos,
       weights_bytes, hyperparameters IS NULL AS no_hp, metrics IS NULL AS no_metrics
  FROM hrm.model ORDER BY name;
SELECT pg_temp.footprint() AS after_import;

-- The stored large object is an F32 file with canonical names.
SELECT count(*) AS lo_rows FROM hrm.model m WHERE m.weights IN (SELECT oid FROM pg_largeobject_metadata);

-- Export: reference names (model.inner.*), config in the metadata, every
-- tensor identical to the imported file.
SELECT name, dtype, shape FROM hrm_safetensors_info(hrm_export('sudoku-tiny')) ORDER BY name LIMIT 8;
SELECT hrm_safetensors_metadata(hrm_export('grid-puzzle-ids'))->>'hrm_config' IS NOT NULL AS has_config,
       (hrm_safetensors_metadata(hrm_export('grid-puzzle-ids'))->>'hrm_config')::jsonb->>'puzzle_emb_ndim' AS ndim;
SELECT f.name AS fixture,
       count(*) AS tensors,
       count(*) FILTER (WHERE a.dtype = b.dtype AND a.shape = b.shape AND a."values" = b."values") AS identical
  FROM fx f
  CROSS JOIN LATERAL hrm_safetensors_info(f.file) a
  LEFT JOIN LATERAL hrm_safetensors_info(hrm_export(f.name)) b ON b.name = a.name
 GROUP BY f.name ORDER BY f.name;

-- Round trip: hrm_import(hrm_export(x)) is identical.
SELECT hrm_import('copy', hrm_export('sudoku-tiny'));
SELECT md5(hrm_export('copy')) = md5(hrm_export('sudoku-tiny')) AS same_export,
       (SELECT config FROM hrm.model WHERE name = 'copy') = (SELECT config FROM hrm.model WHERE name = 'sudoku-tiny') AS same_config,
       (SELECT n_params FROM hrm.model WHERE name = 'copy') AS n_params;
SELECT pg_temp.footprint() AS with_copy;

-- Replacing a model publishes a new generation and unlinks the old weights.
CREATE TEMP TABLE gen AS SELECT generation, weights FROM hrm.model WHERE name = 'copy';
SELECT hrm_import('copy', file) FROM fx WHERE name = 'grid-puzzle-ids';
SELECT m.generation > g.generation AS bumped, m.weights <> g.weights AS new_lo,
       g.weights IN (SELECT oid FROM pg_largeobject_metadata) AS old_lo_exists,
       m.config->>'seq_len' AS seq_len
  FROM hrm.model m, gen g WHERE m.name = 'copy';
SELECT pg_temp.footprint() AS after_replace;

-- Tensor names with the `_orig_mod.` prefix (a torch.compile'd state dict)
-- or without any prefix import to the same model.
CREATE FUNCTION pg_temp.le64(n bigint) RETURNS bytea LANGUAGE sql AS $$
SELECT decode(string_agg(substr(h, 15 - 2 * i, 2), '' ORDER BY i), 'hex')
  FROM (SELECT lpad(to_hex(n), 16, '0') AS h) x, generate_series(0, 7) i
$$;
CREATE FUNCTION pg_temp.rename_tensors(file bytea, old text, new text) RETURNS bytea LANGUAGE sql AS $$
SELECT pg_temp.le64(octet_length(nh)) || nh || substring(file from 9 + n)
  FROM (SELECT get_byte(file, 0) + 256 * get_byte(file, 1) + 65536 * get_byte(file, 2) AS n) h,
       LATERAL (SELECT convert_to(replace(convert_from(substring(file from 9 for n), 'UTF8'), old, new), 'UTF8') AS nh) x
$$;
SELECT hrm_import('orig-mod', pg_temp.rename_tensors(file, '"model.inner.', '"_orig_mod.model.inner.')),
       hrm_import('bare', pg_temp.rename_tensors(file, '"model.inner.', '"'))
  FROM fx WHERE name = 'sudoku-tiny';
SELECT (SELECT count(*) FROM hrm_safetensors_info(pg_temp.rename_tensors(file, '"model.inner.', '"_orig_mod.model.inner.'))
         WHERE name LIKE '\_orig\_mod.model.inner.%') AS prefixed_tensors,
       md5(hrm_export('orig-mod')) = md5(hrm_export('sudoku-tiny')) AS orig_mod_same,
       md5(hrm_export('bare')) = md5(hrm_export('sudoku-tiny')) AS bare_same
  FROM fx WHERE name = 'sudoku-tiny';
-- an unknown tensor is an error (22000)
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', pg_temp.rename_tensors(file, '"model.inner.q_head.bias"', '"model.inner.q_head.bias_extra"')) FROM fx WHERE name = 'sudoku-tiny'$$) AS unknown_tensor;
SELECT hrm_drop_model('orig-mod'), hrm_drop_model('bare');

-- An explicit config overrides the metadata; a task is recorded and exported.
SELECT hrm_import('with-task', f.file,
                  (SELECT config FROM hrm.model WHERE name = 'sudoku-tiny'), 'sudoku')
  FROM fx f WHERE f.name = 'sudoku-tiny';
SELECT name, task FROM hrm.model WHERE name = 'with-task';
SELECT hrm_safetensors_metadata(hrm_export('with-task'))->>'hrm_task' AS exported_task;
SELECT hrm_import('with-task-2', hrm_export('with-task'));
SELECT name, task FROM hrm.model WHERE name LIKE 'with-task%' ORDER BY name;
SELECT md5(hrm_export('with-task')) = md5(hrm_export('with-task-2')) AS same_export;
SELECT hrm_drop_model('with-task-2');

-- Rename: the checkpoints follow.  Checkpoint large objects are unlinked
-- with the model.
INSERT INTO hrm.checkpoint (model, step, state, state_bytes)
VALUES ('with-task', 10, lo_from_bytea(0, '\x0102'), 2), ('with-task', 20, lo_from_bytea(0, '\x0304'), 2);
SELECT pg_temp.footprint() AS with_checkpoints;
SELECT hrm_rename_model('with-task', 'renamed');
SELECT model, step FROM hrm.checkpoint ORDER BY step;
SELECT pg_temp.sqlstate($$SELECT hrm_rename_model('renamed', 'copy')$$) AS rename_onto_existing;
SELECT hrm_drop_model('renamed');
SELECT pg_temp.footprint() AS after_drop;

-- Deleting a row directly (superuser) unlinks its large object too.
DELETE FROM hrm.model WHERE name = 'copy';
SELECT pg_temp.footprint() AS after_delete;

-- Dropping: unknown models are an error unless if_exists.
SELECT pg_temp.sqlstate($$SELECT hrm_drop_model('no such model')$$) AS drop_unknown;
SELECT hrm_drop_model('no such model', if_exists => true);

-- A failed import leaves nothing behind: no row, no large object.
SELECT pg_temp.footprint() AS before_errors;
-- malformed files: 22P03
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', '\x')$$) AS empty_file;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', '\x0102030405060708090a')$$) AS garbage;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', substring(file for 4000)) FROM fx WHERE name = 'sudoku-tiny'$$) AS truncated;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', '\xffffffffffffff7f7b7d')$$) AS huge_header;
-- a valid file without hrm_config metadata and no config argument: 22023
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', '\x02000000000000007b7d'::bytea)$$) AS no_config;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', overlay(file placing '\x7b7b' from 9)) FROM fx WHERE name = 'sudoku-tiny'$$) AS broken_json;
-- NaN weights: 22P01
SELECT pg_temp.sqlstate($$
    SELECT hrm_import('bad', overlay(file placing '\x0000c07f'
                      from 9 + get_byte(file, 0) + 256 * get_byte(file, 1) + 65536 * get_byte(file, 2)))
      FROM fx WHERE name = 'sudoku-tiny'$$) AS nan_weight;
-- weights that do not match the configuration: 22000
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', f.file, (SELECT config FROM hrm.model WHERE name = 'sudoku-tiny')) FROM fx f WHERE f.name = 'grid-puzzle-ids'$$) AS shape_mismatch;
-- impossible configurations: 22023
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', file, '{"seq_len": 81, "vocab_size": 11, "hidden_size": 63, "num_heads": 2}') FROM fx WHERE name = 'sudoku-tiny'$$) AS bad_config;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', file, '{"seq_len": 81, "vocab_size": 11, "no_such_field": 1}') FROM fx WHERE name = 'sudoku-tiny'$$) AS unknown_field;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', file, '[1, 2]') FROM fx WHERE name = 'sudoku-tiny'$$) AS config_not_object;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', file, NULL, 'Sudoku!') FROM fx WHERE name = 'sudoku-tiny'$$) AS bad_task;
-- names and nulls: 42602, 22004
SELECT pg_temp.sqlstate($$SELECT hrm_import('', file) FROM fx WHERE name = 'sudoku-tiny'$$) AS empty_name;
SELECT pg_temp.sqlstate($$SELECT hrm_import(repeat('x', 64), file) FROM fx WHERE name = 'sudoku-tiny'$$) AS long_name;
SELECT pg_temp.sqlstate($$SELECT hrm_import(E'tab\there', file) FROM fx WHERE name = 'sudoku-tiny'$$) AS control_char;
SELECT pg_temp.sqlstate($$SELECT hrm_import(NULL, '\x00')$$) AS null_name;
SELECT pg_temp.sqlstate($$SELECT hrm_import('bad', NULL)$$) AS null_weights;
-- unknown model: 42704
SELECT pg_temp.sqlstate($$SELECT hrm_export('no such model')$$) AS export_unknown;
SELECT pg_temp.sqlstate($$SELECT hrm_rename_model('no such model', 'x')$$) AS rename_unknown;
SELECT pg_temp.footprint() AS after_errors;

-- The same errors in full (message, detail, hint).
SELECT hrm_export('no such model');
SELECT hrm_import('bad', '\x0102030405060708090a');
SELECT hrm_import('bad', file, '{"seq_len": 81, "vocab_size": 11, "hidden_size": 63, "num_heads": 2}') FROM fx WHERE name = 'sudoku-tiny';

-- A rolled-back import leaves nothing either.
BEGIN;
SELECT hrm_import('rolled-back', file) FROM fx WHERE name = 'sudoku-tiny';
SELECT count(*) AS visible_inside FROM hrm.model WHERE name = 'rolled-back';
ROLLBACK;
SELECT pg_temp.footprint() AS after_rollback;

-- Permissions (in detail: permissions.sql): another role can use a model
-- it was granted, but only the owner (or a superuser) replaces, renames or
-- drops it.
CREATE ROLE regress_hrm_alice;
GRANT SELECT ON fx TO regress_hrm_alice;
SELECT hrm_grant('sudoku-tiny', 'regress_hrm_alice');
SET ROLE regress_hrm_alice;
SELECT hrm_import('alice-model', file) FROM fx WHERE name = 'grid-puzzle-ids';
SELECT name, owner FROM hrm.models WHERE name = 'alice-model';
SELECT generation AS alice_generation FROM hrm.model WHERE name = 'alice-model' \gset
SELECT count(*) AS segments FROM hrm_forward('sudoku-tiny', array_fill(1, ARRAY[81]));
SELECT length(hrm_export('sudoku-tiny')) > 0 AS can_export;
SELECT pg_temp.sqlstate($$SELECT hrm_import('sudoku-tiny', file) FROM fx WHERE name = 'sudoku-tiny'$$) AS replace_others;
SELECT pg_temp.sqlstate($$SELECT hrm_drop_model('sudoku-tiny')$$) AS drop_others;
SELECT pg_temp.sqlstate($$SELECT hrm_rename_model('sudoku-tiny', 'mine')$$) AS rename_others;
SELECT pg_temp.sqlstate($$DELETE FROM hrm.model$$) AS delete_catalog;
SELECT pg_temp.sqlstate($$UPDATE hrm.model SET acl_lo = 0$$) AS update_catalog;
SELECT regexp_replace(pg_temp.sqlstate(format('SELECT lo_get(%s)', (SELECT weights FROM hrm.model WHERE name = 'sudoku-tiny'))),
                      'object \d+', 'object N') AS read_lo;
\set VERBOSITY terse
SELECT hrm_drop_model('sudoku-tiny');
\set VERBOSITY default
SELECT hrm_import('alice-model', file) FROM fx WHERE name = 'grid-puzzle-ids';
SELECT hrm_rename_model('alice-model', 'alice-renamed');
RESET ROLE;
SELECT name, owner, generation > :alice_generation AS replaced FROM hrm.models WHERE owner = 'regress_hrm_alice';
-- a superuser may drop anyone's model
SELECT hrm_drop_model('alice-renamed');
REVOKE SELECT ON fx FROM regress_hrm_alice;
-- the grant is a dependency: revoke it before dropping the role
SELECT hrm_revoke('sudoku-tiny', 'regress_hrm_alice');
DROP ROLE regress_hrm_alice;

-- Clean up.
SELECT hrm_drop_model(name) FROM hrm.model ORDER BY name;
SELECT pg_temp.footprint() AS at_end;
