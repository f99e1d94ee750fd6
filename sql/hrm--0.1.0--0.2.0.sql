-- hrm 0.1.0 -> 0.2.0 (ALTER EXTENSION hrm UPDATE).
--
-- Every object the 0.2.0 install script (sql/parts/*.sql) adds or changes
-- relative to 0.1.0 (sql/hrm--0.1.0.sql), with the same definitions and
-- comments, so that an updated database equals a fresh 0.2.0 install:
-- test/upgrade.sh compares the two object by object and fails on anything
-- missing here.  New objects are copied from their part; a changed one is
-- CREATE OR REPLACE'd (or dropped and created again when its signature or
-- result type changes); a new column goes at the end of its table in both
-- places (ALTER TABLE ... ADD COLUMN appends).

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION hrm UPDATE TO '0.2.0'" to load this file. \quit

-- 45_publish.sql ----------------------------------------------------------------

CREATE FUNCTION hrm_publish_checkpoint(model text, step bigint)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'hrm_publish_checkpoint'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_publish_checkpoint(text, bigint) IS
    'hrm: make a kept training checkpoint (hrm.checkpoint) the model''s weights again, byte for byte those the job published at that step, as a new generation with the checkpoint''s metrics and the job''s hyperparameters; owner only; returns the new generation';

-- 47_progress.sql ---------------------------------------------------------------

CREATE FUNCTION hrm_progress_info(OUT pid integer, OUT dboid oid, OUT roleid oid, OUT function text,
                                  OUT model text, OUT phase text, OUT unit text, OUT done bigint,
                                  OUT total bigint, OUT started timestamptz, OUT elapsed interval,
                                  OUT per_second double precision, OUT eta interval)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'hrm_progress_info'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION hrm_progress_info() IS
    'hrm: the running hrm_evaluate and hrm_solve_batch calls of every database, from shared memory (what another role''s call works on only for its members, superusers and pg_read_all_stats); hrm.progress names databases and roles';

CREATE VIEW hrm.progress AS
SELECT p.pid,
       d.datname AS database,
       r.rolname AS role,
       p.function,
       p.model,
       p.phase,
       p.unit,
       p.done,
       p.total,
       p.started,
       p.elapsed,
       p.per_second,
       p.eta
  FROM hrm_progress_info() p
  LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) p.dboid
  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) p.roleid
 ORDER BY p.started, p.pid;
COMMENT ON VIEW hrm.progress IS 'hrm: one row per running hrm_evaluate or hrm_solve_batch call of the cluster: its backend (join pg_stat_activity on pid for the query), function, model, phase, done of total units, elapsed time, rate and ETA';
GRANT SELECT ON hrm.progress TO PUBLIC;
