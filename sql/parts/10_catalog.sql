
-- ---------------------------------------------------------------------------
-- 10_catalog: model catalog, import / export, inference
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA hrm TO PUBLIC;

-- Every published version of every model gets a new generation number, so
-- (name, generation) never names two different sets of weights.
CREATE SEQUENCE hrm.generation_seq;
COMMENT ON SEQUENCE hrm.generation_seq IS 'hrm: generation numbers of published model weights';

CREATE TABLE hrm.model (
    name            text        PRIMARY KEY
                                CHECK (octet_length(name) BETWEEN 1 AND 63),
    arch            text        NOT NULL DEFAULT 'hrm' CHECK (arch IN ('hrm', 'trm')),
    task            text        CHECK (task ~ '^[a-z][a-z0-9_]*$'),
    config          jsonb       NOT NULL,
    weights         oid         NOT NULL,
    weights_bytes   bigint      NOT NULL CHECK (weights_bytes >= 0),
    n_params        bigint      NOT NULL CHECK (n_params >= 0),
    source          text        NOT NULL DEFAULT 'import',
    hyperparameters jsonb,
    metrics         jsonb,
    generation      bigint      NOT NULL DEFAULT nextval('hrm.generation_seq'),
    created         timestamptz NOT NULL DEFAULT now(),
    updated         timestamptz NOT NULL DEFAULT now(),
    acl_lo          oid         NOT NULL UNIQUE
);
COMMENT ON TABLE hrm.model IS 'hrm: one row per model; the parameters live in the large object "weights"';
COMMENT ON COLUMN hrm.model.name IS 'model name (1 to 63 bytes)';
COMMENT ON COLUMN hrm.model.arch IS 'architecture: hrm or trm';
COMMENT ON COLUMN hrm.model.task IS 'task codec the model was trained for (sudoku, maze, ...); NULL for generic token sequences';
COMMENT ON COLUMN hrm.model.config IS 'the full model configuration (reference hrm_config field names)';
COMMENT ON COLUMN hrm.model.weights IS 'large object: F32 safetensors file with canonical tensor names and hrm_config metadata';
COMMENT ON COLUMN hrm.model.weights_bytes IS 'size of the weights large object in bytes';
COMMENT ON COLUMN hrm.model.n_params IS 'number of float32 parameters (H_init/L_init included)';
COMMENT ON COLUMN hrm.model.source IS 'where the weights came from: import, train, ...';
COMMENT ON COLUMN hrm.model.hyperparameters IS 'training hyperparameters, for trained models';
COMMENT ON COLUMN hrm.model.metrics IS 'evaluation or training metrics';
COMMENT ON COLUMN hrm.model.generation IS 'bumped whenever new weights are published under this name';
COMMENT ON COLUMN hrm.model.acl_lo IS 'the model''s ACL object: an empty large object whose owner is the model''s owner and whose SELECT grants are the model''s grants (hrm_grant), so that PostgreSQL tracks both in pg_shdepend (docs/security.md)';

CREATE TABLE hrm.checkpoint (
    model       text        NOT NULL REFERENCES hrm.model (name) ON UPDATE CASCADE ON DELETE CASCADE,
    step        bigint      NOT NULL CHECK (step >= 0),
    metrics     jsonb,
    state       oid         NOT NULL,
    state_bytes bigint      CHECK (state_bytes >= 0),
    created     timestamptz NOT NULL DEFAULT now(),
    run         bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (model, run, step)
);
COMMENT ON TABLE hrm.checkpoint IS 'hrm: training checkpoints; "state" is a large object with everything needed to resume';
COMMENT ON COLUMN hrm.checkpoint.state IS 'large object: weights, optimizer state, step and RNG state';
COMMENT ON COLUMN hrm.checkpoint.run IS 'the training run that wrote it: the id of the job that started the run (a resumed job continues its run); a new run keeps the previous run''s last checkpoint, so hrm_publish_checkpoint can undo a retraining';

-- pg_dump keeps user models (large objects are dumped with them).
SELECT pg_catalog.pg_extension_config_dump('hrm.model', '');
SELECT pg_catalog.pg_extension_config_dump('hrm.checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('hrm.generation_seq', '');

-- Deleting a row, or pointing it at a new large object, unlinks the old
-- large object: no orphans, whichever way the row goes.
CREATE FUNCTION hrm.lo_unlink_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hrm_lo_unlink_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION hrm.lo_unlink_trigger() IS
    'hrm internal: AFTER UPDATE OR DELETE row trigger that unlinks the large object in the oid column named by its argument';

CREATE TRIGGER model_unlink_weights
    AFTER UPDATE OF weights OR DELETE ON hrm.model
    FOR EACH ROW EXECUTE FUNCTION hrm.lo_unlink_trigger('weights');
CREATE TRIGGER model_unlink_acl
    AFTER UPDATE OF acl_lo OR DELETE ON hrm.model
    FOR EACH ROW EXECUTE FUNCTION hrm.lo_unlink_trigger('acl_lo');
CREATE TRIGGER checkpoint_unlink_state
    AFTER UPDATE OF state OR DELETE ON hrm.checkpoint
    FOR EACH ROW EXECUTE FUNCTION hrm.lo_unlink_trigger('state');

-- Everyone may read the catalog; writes go through the hrm_* functions,
-- which check ownership.  Using a model's weights (hrm_forward, hrm_solve,
-- hrm_export, ...) needs ownership or a grant (SELECT on its ACL object).
REVOKE ALL ON hrm.model, hrm.checkpoint FROM PUBLIC;
GRANT SELECT ON hrm.model, hrm.checkpoint TO PUBLIC;
REVOKE ALL ON FUNCTION hrm.lo_unlink_trigger() FROM PUBLIC;

-- DROP OWNED drops the ACL objects of the role's models: their rows go too
-- (and with them the weights and checkpoints).
CREATE FUNCTION hrm.drop_owned_trigger() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'hrm_drop_owned_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION hrm.drop_owned_trigger() IS
    'hrm internal: sql_drop event trigger of DROP OWNED that drops the models whose large objects it dropped';
CREATE EVENT TRIGGER hrm_drop_owned ON sql_drop
    WHEN TAG IN ('DROP OWNED')
    EXECUTE FUNCTION hrm.drop_owned_trigger();

-- DROP EXTENSION hrm (or DROP SCHEMA of its schema ... CASCADE) drops the
-- models first, so that no large object is left behind.
CREATE FUNCTION hrm.drop_extension_trigger() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'hrm_drop_extension_trigger'
    LANGUAGE C;
COMMENT ON FUNCTION hrm.drop_extension_trigger() IS
    'hrm internal: ddl_command_start event trigger that drops every model (and its large objects) before DROP EXTENSION hrm';
CREATE EVENT TRIGGER hrm_drop_extension ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION hrm.drop_extension_trigger();
REVOKE ALL ON FUNCTION hrm.drop_owned_trigger(), hrm.drop_extension_trigger() FROM PUBLIC;

CREATE VIEW hrm.models AS
SELECT m.name,
       m.arch,
       m.task,
       m.n_params,
       pg_catalog.pg_size_pretty(m.weights_bytes) AS size,
       pg_catalog.format('seq %s, vocab %s, hidden %s, heads %s, H %s layers x %s cycles, L %s layers x %s cycles, puzzle ids %s, %s, %s steps',
                         m.config->>'seq_len', m.config->>'vocab_size',
                         m.config->>'hidden_size', m.config->>'num_heads',
                         m.config->>'H_layers', m.config->>'H_cycles',
                         m.config->>'L_layers', m.config->>'L_cycles',
                         m.config->>'num_puzzle_identifiers', m.config->>'pos_encodings',
                         m.config->>'halt_max_steps') AS config,
       m.generation,
       m.source,
       o.rolname AS owner,
       ARRAY(SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'public'::pg_catalog.name
                         ELSE (SELECT r.rolname FROM pg_catalog.pg_roles r
                                WHERE r.oid OPERATOR(pg_catalog.=) a.grantee) END
               FROM pg_catalog.aclexplode(l.lomacl) WITH ORDINALITY AS a
              WHERE a.privilege_type OPERATOR(pg_catalog.=) 'SELECT'
                AND a.grantee OPERATOR(pg_catalog.<>) l.lomowner
              ORDER BY a.ordinality) AS readers,
       m.created,
       m.updated,
       m.acl_lo
  FROM hrm.model m
  LEFT JOIN pg_catalog.pg_largeobject_metadata l ON l.oid OPERATOR(pg_catalog.=) m.acl_lo
  LEFT JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) l.lomowner
 ORDER BY m.name;
COMMENT ON VIEW hrm.models IS 'hrm: the models, one line each; owner and readers (the roles granted its use; public = every role) are those of the model''s ACL object acl_lo';
GRANT SELECT ON hrm.models TO PUBLIC;

-- Import / export ------------------------------------------------------------

CREATE FUNCTION hrm_import(name text, weights bytea, config jsonb DEFAULT NULL, task text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_import'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_import(text, bytea, jsonb, text) IS
    'hrm: validate a safetensors file (reference tensor names; F32, BF16 or F16) and store it as model "name" (replaces an existing model you own); config defaults to the file''s hrm_config metadata';

CREATE FUNCTION hrm_export(name text)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'hrm_export'
    LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION hrm_export(text) IS
    'hrm: a model you own or were granted, as an F32 safetensors file with the reference''s tensor names (model.inner.*) and hrm_config metadata; hrm_import reads it back identically';

CREATE FUNCTION hrm_drop_model(name text, if_exists boolean DEFAULT false)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'hrm_drop_model'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_drop_model(text, boolean) IS
    'hrm: drop a model you own, its checkpoints and all their large objects';

CREATE FUNCTION hrm_rename_model(name text, new_name text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_rename_model'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_rename_model(text, text) IS
    'hrm: rename a model you own (its checkpoints follow)';

-- Permissions ----------------------------------------------------------------

CREATE FUNCTION hrm_grant(model text, role name)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'hrm_grant'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_grant(text, name) IS
    'hrm: let role (and its members; ''public'': every role) use a model you own (hrm_forward, hrm_solve, hrm_export, ...): GRANT SELECT on the model''s ACL object, so DROP ROLE sees it; false if the grant already existed';

CREATE FUNCTION hrm_revoke(model text, role name)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'hrm_revoke'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_revoke(text, name) IS
    'hrm: withdraw a grant made with hrm_grant (effective at the next call of every session); false if there was none; the role must exist';

-- Inference ------------------------------------------------------------------

CREATE FUNCTION hrm_forward(model text, inputs integer[], puzzle_id integer DEFAULT 0,
                            segments integer DEFAULT NULL)
    RETURNS TABLE (segment integer, logits real[], q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_forward'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 16;
COMMENT ON FUNCTION hrm_forward(text, integer[], integer, integer) IS
    'hrm: run a model on one example from a fresh carry for segments segments (default halt_max_steps); one row per segment with logits real[seq_len][vocab] and the Q values';

-- Inspection -----------------------------------------------------------------

CREATE FUNCTION hrm_safetensors_info(file bytea)
    RETURNS TABLE (name text, dtype text, shape integer[], "values" double precision[])
    AS 'MODULE_PATHNAME', 'hrm_safetensors_info'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_safetensors_info(bytea) IS
    'hrm: the tensors of a safetensors file: name, dtype, shape and values (flattened, row-major, as float8)';

CREATE FUNCTION hrm_safetensors_metadata(file bytea)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'hrm_safetensors_metadata'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_safetensors_metadata(bytea) IS
    'hrm: the __metadata__ of a safetensors file as a jsonb object of strings';
