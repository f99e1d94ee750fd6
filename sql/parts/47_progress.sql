-- ---------------------------------------------------------------------------
-- 47_progress: progress of long calls that run in the calling backend
-- (hrm_evaluate, hrm_solve_batch): NOTICE lines every hrm.progress_interval,
-- and one row per running call in shared memory.  docs/sql.md.
-- ---------------------------------------------------------------------------

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
