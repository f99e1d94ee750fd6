-- ---------------------------------------------------------------------------
-- 45_publish: versions of a model.  Every checkpoint a training job commits
-- keeps its state; publishing one makes its weights the model's again (a
-- new generation), so a bad retraining can be undone.  docs/sql.md.
-- ---------------------------------------------------------------------------

CREATE FUNCTION hrm_publish_checkpoint(model text, step bigint, run bigint DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'hrm_publish_checkpoint'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_publish_checkpoint(text, bigint, bigint) IS
    'hrm: make a kept training checkpoint (hrm.checkpoint) the model''s weights again, byte for byte those the job published at that step, as a new generation with the checkpoint''s metrics and the job''s hyperparameters; run picks the training run (default: the newest with that step; a new run keeps the previous run''s last checkpoint); owner only; returns the new generation (NULL for a NULL model or step)';

CREATE FUNCTION hrm_export_checkpoint(model text, step bigint, run bigint DEFAULT NULL)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'hrm_export_checkpoint'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION hrm_export_checkpoint(text, bigint, bigint) IS
    'hrm: the weights a kept training checkpoint published, as a safetensors file like hrm_export''s (configuration and task in the metadata): hrm_import(''name'', hrm_export_checkpoint(model, step)) makes it a model of its own, e.g. a member of an ensemble (hrm_solve''s ensemble); run as in hrm_publish_checkpoint; for anyone who may use the model';
