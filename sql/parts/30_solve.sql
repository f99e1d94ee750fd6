
-- ---------------------------------------------------------------------------
-- 30_solve: solving puzzles with a model, the answer in the puzzle's form.
-- docs/solve.md.  The grid is text (Sudoku, maze) or int[] (Sudoku, ARC
-- int[rows][cols] colour grids, token sequences); puzzle_id selects the puzzle
-- embedding (ARC tasks; 0 otherwise); max_steps 0 means hrm.default_max_steps, else the model's
-- halt_max_steps; halt is 'fixed', 'adaptive' or 'default' (hrm.default_halt);
-- views > 1 votes over the puzzle's symmetries, ensemble over further models
-- of the same task (docs/solve.md).
-- ---------------------------------------------------------------------------

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

CREATE FUNCTION hrm_solve_task(model text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_task'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_solve_task(text) IS
    'hrm: the task hrm_solve reads a model''s grids as: sudoku (vocab 11, seq 81), maze (vocab 6, seq 900), arc (vocab 12, seq 900; int[rows][cols] colour grids or token arrays), else the catalog''s task or generic (token arrays)';

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
