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

-- 10_catalog.sql ----------------------------------------------------------------

-- checkpoints belong to a training run (hrm_publish_checkpoint can undo a retraining)
ALTER TABLE hrm.checkpoint ADD COLUMN run bigint NOT NULL DEFAULT 0;
ALTER TABLE hrm.checkpoint DROP CONSTRAINT checkpoint_pkey, ADD PRIMARY KEY (model, run, step);
COMMENT ON COLUMN hrm.checkpoint.run IS 'the training run that wrote it: the id of the job that started the run (a resumed job continues its run); a new run keeps the previous run''s last checkpoint, so hrm_publish_checkpoint can undo a retraining';

-- 45_publish.sql ----------------------------------------------------------------

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

-- 30_solve.sql: hrm_solve, hrm_solve_detail and hrm_trace take puzzle_id --------

DROP FUNCTION hrm_solve(text, integer, text, integer);
DROP FUNCTION hrm_solve(integer[], integer, text, integer);
DROP FUNCTION hrm_solve(text, text, integer, text, integer);
DROP FUNCTION hrm_solve(text, integer[], integer, text, integer);
DROP FUNCTION hrm_solve_detail(text, integer, text, integer);
DROP FUNCTION hrm_solve_detail(integer[], integer, text, integer);
DROP FUNCTION hrm_solve_detail(text, text, integer, text, integer);
DROP FUNCTION hrm_solve_detail(text, integer[], integer, text, integer);
DROP FUNCTION hrm_trace(text, integer, text);
DROP FUNCTION hrm_trace(integer[], integer, text);
DROP FUNCTION hrm_trace(text, text, integer, text);
DROP FUNCTION hrm_trace(text, integer[], integer, text);

CREATE FUNCTION hrm_solve(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}')
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, integer, text, integer, integer, text[]) IS
    'hrm: solve a Sudoku (81 cells, "." or "0" blank) or a maze (rows of "# SG"; the path comes back as "o") with the model named by hrm.default_model; the answer has the input''s layout; views > 1 also solves the puzzle under views - 1 of its symmetries and votes (docs/solve.md)';
CREATE FUNCTION hrm_solve(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}')
    RETURNS integer[]
    AS 'MODULE_PATHNAME', 'hrm_solve_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(integer[], integer, text, integer, integer, text[]) IS
    'hrm: solve a Sudoku given as int[81] or int[9][9] (0 blank), an ARC grid (int[rows][cols] of colours 0-9; the answer is the predicted grid), or a token sequence for other models, with the model named by hrm.default_model; puzzle_id selects the puzzle embedding; views > 1 votes over the puzzle''s symmetries (Sudoku, ARC)';
CREATE FUNCTION hrm_solve(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}')
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, text, integer, text, integer, integer, text[]) IS
    'hrm: solve a Sudoku (81 cells, "." or "0" blank) or a maze (rows of "# SG"; the path comes back as "o") with a model; max_steps segments (0: default), halt ''fixed'' or ''adaptive''; views (1-64 Sudoku, 1-8 maze) solves the puzzle under views - 1 of its symmetries in one batch and picks a rule-valid, then majority, then most certain answer; ensemble names up to 7 further models of the same task (e.g. checkpoints made models with hrm_import(name, hrm_export_checkpoint(model, step))) that solve it too and vote the same way';
CREATE FUNCTION hrm_solve(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}')
    RETURNS integer[]
    AS 'MODULE_PATHNAME', 'hrm_solve_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, integer[], integer, text, integer, integer, text[]) IS
    'hrm: solve a Sudoku given as int[81] or int[9][9] (0 blank), an ARC grid (int[rows][cols] of colours 0-9; the answer is the predicted grid as the reference''s evaluator crops it), or a token sequence (argmax over the vocabulary) for other models; max_steps segments (0: default), halt ''fixed'' or ''adaptive''; views (Sudoku and ARC 1-64: dihedral transforms and colour permutations for ARC; token models 1); puzzle_id the puzzle embedding (ARC tasks)';
CREATE FUNCTION hrm_solve_detail(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}',
                                 OUT solution text, OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, integer, text, integer, integer, text[]) IS
    'hrm: hrm_solve with the default model, plus segments run, confidence (sigmoid of the last q_halt), valid (obeys the task''s rules), keeps_givens, the first violated rule, views run, views agreeing with the answer and its certainty (mean largest softmax probability)';

CREATE FUNCTION hrm_solve_detail(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}',
                                 OUT solution integer[], OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(integer[], integer, text, integer, integer, text[]) IS
    'hrm: hrm_solve on an int[] grid with the default model, plus segments run, confidence (sigmoid of the last q_halt), valid, keeps_givens, the first violated rule (NULL for token models), views run, views agreeing and certainty';

CREATE FUNCTION hrm_solve_detail(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}',
                                 OUT solution text, OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, text, integer, text, integer, integer, text[]) IS
    'hrm: hrm_solve plus segments run, confidence (sigmoid of the last q_halt), valid (Sudoku: complete, no repeats; maze: a shortest S-G path), keeps_givens, the first violated rule, views run, views agreeing with the answer and its certainty (mean largest softmax probability)';
CREATE FUNCTION hrm_solve_detail(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1, puzzle_id integer DEFAULT 0, ensemble text[] DEFAULT '{}',
                                 OUT solution integer[], OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, integer[], integer, text, integer, integer, text[]) IS
    'hrm: hrm_solve on an int[] grid plus segments run, confidence (sigmoid of the last q_halt), valid, keeps_givens, the first violated rule (NULL for token models), views run, views agreeing and certainty';

CREATE FUNCTION hrm_trace(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', puzzle_id integer DEFAULT 0)
    RETURNS TABLE (segment integer, prediction text, changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(text, integer, text, integer) IS
    'hrm: the reasoning trace of hrm_solve with the default model: one row per segment with the prediction so far, the cells changed since the previous segment (the input, for segment 1) and the Q values';

CREATE FUNCTION hrm_trace(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', puzzle_id integer DEFAULT 0)
    RETURNS TABLE (segment integer, prediction integer[], changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(integer[], integer, text, integer) IS
    'hrm: the reasoning trace of hrm_solve on an int[] grid with the default model: one row per segment with the prediction, cells changed since the previous segment (the input, for segment 1) and the Q values';

CREATE FUNCTION hrm_trace(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', puzzle_id integer DEFAULT 0)
    RETURNS TABLE (segment integer, prediction text, changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(text, text, integer, text, integer) IS
    'hrm: the reasoning trace of hrm_solve: one row per segment with the prediction so far (in the input''s form), the cells changed since the previous segment (the input, for segment 1), q_halt and q_continue';

CREATE FUNCTION hrm_trace(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', puzzle_id integer DEFAULT 0)
    RETURNS TABLE (segment integer, prediction integer[], changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(text, integer[], integer, text, integer) IS
    'hrm: the reasoning trace of hrm_solve on an int[] grid: one row per segment with the prediction, the cells changed since the previous segment (the input, for segment 1), q_halt and q_continue';


COMMENT ON FUNCTION hrm_solve_task(text) IS
    'hrm: the task hrm_solve reads a model''s grids as: sudoku (vocab 11, seq 81), maze (vocab 6, seq 900), arc (vocab 12, seq 900; int[rows][cols] colour grids or token arrays), else the catalog''s task or generic (token arrays)';


-- hrm_solve_batch takes ensemble (as hrm_solve and hrm_solve_detail do)
DROP FUNCTION hrm_solve_batch(text, text[], integer, text, integer);
DROP FUNCTION hrm_solve_batch(text, integer[], integer, text, integer);
DROP FUNCTION hrm_solve_batch(text, text, integer, text, integer);

-- Batched solving: many grids through one engine call per chunk of rows
-- (docs/solve.md#batches); one row per grid in input order with what
-- hrm_solve_detail returns.
CREATE FUNCTION hrm_solve_batch(model text, grids text[], max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                views integer DEFAULT 1, ensemble text[] DEFAULT '{}')
    RETURNS TABLE (idx integer, solution text, segments integer, confidence real, valid boolean,
                   keeps_givens boolean, reason text, views_run integer, views_agreeing integer, certainty real)
    AS 'MODULE_PATHNAME', 'hrm_solve_batch_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 100;
COMMENT ON FUNCTION hrm_solve_batch(text, text[], integer, text, integer, text[]) IS
    'hrm: solve an array of Sudoku or maze grids in batches (one engine call per chunk of rows, adaptive halting lets rows leave early): one row per grid, idx its position, the answer as hrm_solve gives it and hrm_solve_detail''s columns';

CREATE FUNCTION hrm_solve_batch(model text, grids integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                views integer DEFAULT 1, ensemble text[] DEFAULT '{}')
    RETURNS TABLE (idx integer, solution integer[], segments integer, confidence real, valid boolean,
                   keeps_givens boolean, reason text, views_run integer, views_agreeing integer, certainty real)
    AS 'MODULE_PATHNAME', 'hrm_solve_batch_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 100;
COMMENT ON FUNCTION hrm_solve_batch(text, integer[], integer, text, integer, text[]) IS
    'hrm: solve int[n][81], int[n][9][9] or int[n][seq_len] grids (one per element of the first dimension) in batches: one row per grid, idx its position, the answer with the grid''s shape and hrm_solve_detail''s columns';

CREATE FUNCTION hrm_solve_batch(model text, query text, max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                views integer DEFAULT 1, ensemble text[] DEFAULT '{}')
    RETURNS TABLE (id bigint, solution text, segments integer, confidence real, valid boolean,
                   keeps_givens boolean, reason text, views_run integer, views_agreeing integer, certainty real)
    AS 'MODULE_PATHNAME', 'hrm_solve_batch_query'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED COST 10000 ROWS 1000;
COMMENT ON FUNCTION hrm_solve_batch(text, text, integer, text, integer, text[]) IS
    'hrm: solve the grids a read-only query (or table) returns as (id integer, puzzle text or int[]) rows, read by a cursor chunk by chunk and solved in batches: one row per query row in its order, the id, the answer as text and hrm_solve_detail''s columns';

-- 50_svg.sql -------------------------------------------------------------------

CREATE FUNCTION hrm_grid_svg(grid text, task text DEFAULT NULL, cell_size integer DEFAULT 32)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_grid_svg_text'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hrm_grid_svg(text, text, integer) IS
    'hrm: a Sudoku or a maze (text; task NULL tells them apart) drawn as an SVG image of cell_size-pixel cells';

CREATE FUNCTION hrm_grid_svg(grid integer[], task text DEFAULT NULL, cell_size integer DEFAULT 32)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_grid_svg_array'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hrm_grid_svg(integer[], text, integer) IS
    'hrm: a grid drawn as an SVG image: an ARC grid int[][] of colours 0-9 in the ARC palette (task NULL or ''arc''), a Sudoku int[81] / int[9][9] (task ''sudoku''), or maze tokens (task ''maze'')';

CREATE FUNCTION hrm_trace_svg(model text, grid text, solution text DEFAULT NULL,
                              max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                              cell_size integer DEFAULT 24, columns integer DEFAULT 8)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_trace_svg'
    LANGUAGE C STABLE PARALLEL RESTRICTED COST 10000;
COMMENT ON FUNCTION hrm_trace_svg(text, text, text, integer, text, integer, integer) IS
    'hrm: the reasoning of model on a Sudoku or maze (hrm_trace) drawn as an SVG image: the input, then the prediction after each segment with its q_halt, changed cells and wrong cells (against solution, else the exact solver''s or the shortest path) marked';

-- 15_cache.sql ------------------------------------------------------------------

CREATE FUNCTION hrm_cpu_features(
    OUT path text,
    OUT features text,
    OUT "precision" text)
RETURNS record
AS 'MODULE_PATHNAME', 'hrm_cpu_features_sql'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION hrm_cpu_features() IS
'The kernels this backend runs (avx512+bf16, avx512 or portable: BLAS and plain C, chosen at run time from the CPU), the CPU features found, and the arithmetic hrm.precision gives here (bf16 only where the CPU has AVX512_BF16)';

CREATE FUNCTION hrm_arc_generate(n_tasks int, seed bigint, train_pairs int DEFAULT 3,
                                 test_pairs int DEFAULT 1, max_side int DEFAULT 10,
                                 families text[] DEFAULT '{}')
    RETURNS TABLE (task_id text, split text, pair_index int, input int[], output int[],
                   family text, rule text)
    AS 'MODULE_PATHNAME', 'hrm_arc_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 400;
COMMENT ON FUNCTION hrm_arc_generate(int, bigint, int, int, int, text[]) IS
    'hrm: n_tasks synthetic tasks in ARC''s format, each a rule of one family (dihedral, recolor, gravity, scale, tile, crop, border, fill, shift, extend, majority; {} = all) with train_pairs and test_pairs fresh inputs of 3..max_side rows and columns; the columns of hrm_arc_load plus family and rule; task k depends only on (seed, k) and the other arguments';
