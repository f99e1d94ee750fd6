\unset ECHO
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

-- pgTAP: the catalog's structure, privileges, large-object hygiene and
-- error codes.  Everything happens in one transaction that is rolled back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(92);

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
CREATE TEMP TABLE fx (name text PRIMARY KEY, file bytea);
INSERT INTO fx VALUES ('sudoku-tiny', decode(:'w', 'base64'));
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
INSERT INTO fx VALUES ('grid-puzzle-ids', decode(:'w', 'base64'));
\unset w
CREATE ROLE regress_hrm_tap;
GRANT SELECT ON fx TO regress_hrm_tap;

-- Structure ------------------------------------------------------------------
SELECT has_schema('hrm');
SELECT has_table('hrm', 'model', 'table hrm.model exists');
SELECT has_table('hrm', 'checkpoint', 'table hrm.checkpoint exists');
SELECT has_view('hrm', 'models', 'view hrm.models exists');
SELECT has_sequence('hrm', 'generation_seq', 'sequence hrm.generation_seq exists');
SELECT columns_are('hrm', 'model', ARRAY['name', 'arch', 'task', 'config', 'weights', 'weights_bytes',
    'n_params', 'source', 'hyperparameters', 'metrics', 'generation', 'created', 'updated', 'acl_lo']);
SELECT columns_are('hrm', 'checkpoint', ARRAY['model', 'step', 'metrics', 'state', 'state_bytes', 'created', 'run']);
SELECT columns_are('hrm', 'models', ARRAY['name', 'arch', 'task', 'n_params', 'size', 'config', 'generation',
    'source', 'owner', 'readers', 'created', 'updated', 'acl_lo']);
SELECT col_is_pk('hrm'::name, 'model'::name, 'name'::name, 'hrm.model primary key is name');
SELECT col_is_pk('hrm'::name, 'checkpoint'::name, ARRAY['model', 'run', 'step']::name[], 'hrm.checkpoint primary key is (model, run, step)');
SELECT fk_ok('hrm'::name, 'checkpoint'::name, 'model'::name, 'hrm'::name, 'model'::name, 'name'::name);
SELECT col_type_is('hrm'::name, 'model'::name, 'weights'::name, 'oid', 'hrm.model.weights is oid');
SELECT col_type_is('hrm'::name, 'model'::name, 'config'::name, 'jsonb', 'hrm.model.config is jsonb');
SELECT col_type_is('hrm'::name, 'model'::name, 'generation'::name, 'bigint', 'hrm.model.generation is bigint');
SELECT col_type_is('hrm'::name, 'checkpoint'::name, 'state'::name, 'oid', 'hrm.checkpoint.state is oid');
SELECT col_type_is('hrm'::name, 'model'::name, 'acl_lo'::name, 'oid', 'hrm.model.acl_lo is oid');
SELECT col_not_null('hrm'::name, 'model'::name, 'acl_lo'::name, 'hrm.model.acl_lo is NOT NULL');
SELECT has_trigger('hrm'::name, 'model'::name, 'model_unlink_weights'::name, 'trigger model_unlink_weights on hrm.model');
SELECT has_trigger('hrm'::name, 'model'::name, 'model_unlink_acl'::name, 'trigger model_unlink_acl on hrm.model');
SELECT has_trigger('hrm'::name, 'checkpoint'::name, 'checkpoint_unlink_state'::name, 'trigger checkpoint_unlink_state on hrm.checkpoint');
SELECT ok(ARRAY['hrm.model'::regclass, 'hrm.checkpoint'::regclass, 'hrm.generation_seq'::regclass]::oid[]
          <@ (SELECT extconfig::oid[] FROM pg_extension WHERE extname = 'hrm'),
          'catalog registered with pg_extension_config_dump');

-- Functions -------------------------------------------------------------------
SELECT has_function('hrm_import', ARRAY['text', 'bytea', 'jsonb', 'text']);
SELECT has_function('hrm_export', ARRAY['text']);
SELECT has_function('hrm_drop_model', ARRAY['text', 'boolean']);
SELECT has_function('hrm_rename_model', ARRAY['text', 'text']);
SELECT has_function('hrm_forward', ARRAY['text', 'integer[]', 'integer', 'integer']);
SELECT has_function('hrm_grant', ARRAY['text', 'name']);
SELECT has_function('hrm_revoke', ARRAY['text', 'name']);
SELECT has_function('hrm_safetensors_info', ARRAY['bytea']);
SELECT has_function('hrm_safetensors_metadata', ARRAY['bytea']);
SELECT function_returns('hrm_import', ARRAY['text', 'bytea', 'jsonb', 'text'], 'text');
SELECT function_returns('hrm_export', ARRAY['text'], 'bytea');
SELECT function_returns('hrm_drop_model', ARRAY['text', 'boolean'], 'boolean');
SELECT function_returns('hrm_forward', ARRAY['text', 'integer[]', 'integer', 'integer'], 'setof record');
SELECT function_returns('hrm_grant', ARRAY['text', 'name'], 'boolean');
SELECT function_returns('hrm_revoke', ARRAY['text', 'name'], 'boolean');
SELECT volatility_is('hrm_grant', ARRAY['text', 'name'], 'volatile');
SELECT is_strict('hrm_revoke', ARRAY['text', 'name']);
SELECT volatility_is('hrm_import', ARRAY['text', 'bytea', 'jsonb', 'text'], 'volatile');
SELECT volatility_is('hrm_export', ARRAY['text'], 'stable');
SELECT volatility_is('hrm_forward', ARRAY['text', 'integer[]', 'integer', 'integer'], 'stable');
SELECT volatility_is('hrm_safetensors_info', ARRAY['bytea'], 'immutable');
SELECT isnt_strict('hrm_import', ARRAY['text', 'bytea', 'jsonb', 'text']);
SELECT is_strict('hrm_export', ARRAY['text']);
SELECT is(
    (SELECT string_agg(p.oid::regprocedure::text, ', ')
       FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
      WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
        AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hrm')
        AND obj_description(p.oid, 'pg_proc') IS NULL),
    NULL, 'every function of the extension has a COMMENT');

-- Privileges: everyone may use the functions and read the catalog; only the
-- functions write it.
SELECT function_privs_are('hrm_import', ARRAY['text', 'bytea', 'jsonb', 'text'], 'regress_hrm_tap', ARRAY['EXECUTE']);
SELECT function_privs_are('hrm_forward', ARRAY['text', 'integer[]', 'integer', 'integer'], 'regress_hrm_tap', ARRAY['EXECUTE']);
SELECT function_privs_are('hrm_export', ARRAY['text'], 'regress_hrm_tap', ARRAY['EXECUTE']);
SELECT function_privs_are('hrm_grant', ARRAY['text', 'name'], 'regress_hrm_tap', ARRAY['EXECUTE']);
SELECT function_privs_are('hrm', 'lo_unlink_trigger', ARRAY[]::name[], 'regress_hrm_tap', ARRAY[]::name[]);
SELECT table_privs_are('hrm', 'model', 'regress_hrm_tap', ARRAY['SELECT']);
SELECT table_privs_are('hrm', 'checkpoint', 'regress_hrm_tap', ARRAY['SELECT']);
SELECT table_privs_are('hrm', 'models', 'regress_hrm_tap', ARRAY['SELECT']);

-- Large objects: import, replace and drop leave no orphans ---------------------
CREATE TEMP TABLE lo_base AS SELECT count(*) AS n FROM pg_largeobject_metadata;
SELECT lives_ok($$SELECT hrm_import('tap-model', file) FROM fx WHERE name = 'sudoku-tiny'$$, 'import');
SELECT is((SELECT count(*) FROM pg_largeobject_metadata), (SELECT n + 2 FROM lo_base), 'import adds two large objects (weights, ACL object)');
SELECT lives_ok($$SELECT hrm_import('tap-model', file) FROM fx WHERE name = 'grid-puzzle-ids'$$, 'replace');
SELECT is((SELECT count(*) FROM pg_largeobject_metadata), (SELECT n + 2 FROM lo_base), 'replace unlinks the old weights');
SELECT lives_ok($$INSERT INTO hrm.checkpoint (model, step, state) VALUES ('tap-model', 1, lo_from_bytea(0, '\x00'))$$, 'checkpoint');
SELECT is((SELECT count(*) FROM pg_largeobject_metadata), (SELECT n + 3 FROM lo_base), 'checkpoint adds one large object');
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT hrm_drop_model('tap-model')$$,
                 '42501', NULL, 'a non-owner cannot drop a model');
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT hrm_import('tap-model', file) FROM fx WHERE name = 'sudoku-tiny'$$,
                 '42501', NULL, 'a non-owner cannot replace a model');
SELECT ok(hrm_drop_model('tap-model'), 'drop');
SELECT is((SELECT count(*) FROM pg_largeobject_metadata), (SELECT n FROM lo_base), 'drop unlinks weights and checkpoints');
SELECT is((SELECT count(*) FROM hrm.checkpoint WHERE model = 'tap-model'), 0::bigint, 'drop removes the checkpoints');
SELECT throws_ok($$SELECT hrm_import('tap-bad', substring(file for 5000)) FROM fx WHERE name = 'sudoku-tiny'$$,
                 '22P03', NULL, 'truncated file: invalid_binary_representation');
SELECT is((SELECT count(*) FROM pg_largeobject_metadata), (SELECT n FROM lo_base), 'a failed import leaves no large object');

-- Error codes -------------------------------------------------------------------
SELECT lives_ok($$SELECT hrm_import('tap-model', file) FROM fx WHERE name = 'sudoku-tiny'$$, 'import again');
SELECT throws_ok($$SELECT * FROM hrm_forward('tap-no-such-model', array_fill(0, ARRAY[81]))$$,
                 '42704', 'model "tap-no-such-model" does not exist', 'unknown model: undefined_object');
SELECT throws_ok($$SELECT hrm_export('tap-no-such-model')$$, '42704', NULL, 'export of an unknown model: undefined_object');
SELECT throws_ok($$SELECT * FROM hrm_forward('tap-model', array_fill(0, ARRAY[82]))$$,
                 '2202E', NULL, 'wrong input length: array_subscript_error');
SELECT throws_ok($$SELECT * FROM hrm_forward('tap-model', array_fill(11, ARRAY[81]))$$,
                 '22003', NULL, 'token out of vocabulary: numeric_value_out_of_range');
SELECT throws_ok($$SELECT * FROM hrm_forward('tap-model', array_fill(NULL::int, ARRAY[81]))$$,
                 '22004', NULL, 'null token: null_value_not_allowed');
SELECT throws_ok($$SELECT * FROM hrm_forward('tap-model', array_fill(0, ARRAY[81]), 0, 0)$$,
                 '22023', NULL, 'zero segments: invalid_parameter_value');
SELECT throws_ok($$SELECT hrm_import('tap-bad', '\x00')$$, '22P03', NULL, 'malformed file: invalid_binary_representation');
SELECT throws_ok($$SELECT hrm_import('tap-bad', overlay(file placing '\x0000807f'
                       from 9 + get_byte(file, 0) + 256 * get_byte(file, 1) + 65536 * get_byte(file, 2)))
                     FROM fx WHERE name = 'sudoku-tiny'$$,
                 '22P01', NULL, 'infinite weight: floating_point_exception');
SELECT throws_ok($$SELECT hrm_import('tap-bad', a.file, (SELECT config FROM hrm.model WHERE name = 'tap-model'))
                     FROM fx a WHERE a.name = 'grid-puzzle-ids'$$,
                 '22000', NULL, 'weights that do not fit the config: data_exception');
SELECT throws_ok($$SELECT hrm_import('tap-bad', file, '{"seq_len": 81, "vocab_size": 11, "num_heads": 0}') FROM fx WHERE name = 'sudoku-tiny'$$,
                 '22023', NULL, 'impossible config: invalid_parameter_value');
SELECT throws_ok($$SELECT hrm_import(repeat('m', 64), file) FROM fx WHERE name = 'sudoku-tiny'$$,
                 '42602', NULL, 'name too long: invalid_name');
SELECT throws_ok($$SELECT hrm_rename_model('tap-model', 'tap-model-2') FROM (SELECT hrm_import('tap-model-2', file) FROM fx WHERE name = 'sudoku-tiny') s$$,
                 '42710', NULL, 'rename onto an existing model: duplicate_object');

-- Per-model grants (in detail: permissions.sql) --------------------------------
-- tap-model belongs to the superuser running the suite; regress_hrm_tap was
-- not granted it.  Each statement list ends with RESET ROLE so that a
-- statement that succeeds does not leave the role set.
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT * FROM hrm_forward('tap-model', array_fill(0, ARRAY[81]))$$,
                 '42501', 'permission denied for model "tap-model"', 'an ungranted role cannot run a model');
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT hrm_export('tap-model')$$,
                 '42501', 'permission denied for model "tap-model"', 'an ungranted role cannot export a model');
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT hrm_grant('tap-model', 'regress_hrm_tap')$$,
                 '42501', NULL, 'a non-owner cannot grant a model');
SELECT ok(hrm_grant('tap-model', 'regress_hrm_tap'), 'the owner grants a model');
SELECT is((SELECT readers FROM hrm.models WHERE name = 'tap-model'), ARRAY['regress_hrm_tap']::name[], 'the grant is in hrm.models.readers');
SELECT lives_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT * FROM hrm_forward('tap-model', array_fill(0, ARRAY[81])); RESET ROLE$$,
                'a granted role runs the model');
SELECT lives_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT hrm_export('tap-model'); RESET ROLE$$,
                'a granted role exports the model');
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT hrm_rename_model('tap-model', 'tap-mine')$$,
                 '42501', NULL, 'a granted role still cannot rename the model');
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT hrm_revoke('tap-model', 'regress_hrm_tap')$$,
                 '42501', NULL, 'a granted role cannot revoke');
SELECT ok(hrm_revoke('tap-model', 'regress_hrm_tap'), 'the owner revokes the grant');
SELECT throws_ok($$SET LOCAL ROLE regress_hrm_tap; SELECT * FROM hrm_forward('tap-model', array_fill(0, ARRAY[81]))$$,
                 '42501', NULL, 'after hrm_revoke the role cannot run the model');
SELECT throws_ok($$SELECT hrm_grant('tap-model', 'regress_hrm_tap_nobody')$$,
                 '42704', NULL, 'grant to an unknown role: undefined_object');
SELECT throws_ok($$SELECT hrm_grant('tap-no-such-model', 'regress_hrm_tap')$$,
                 '42704', NULL, 'grant on an unknown model: undefined_object');

SELECT * FROM finish();
ROLLBACK;
