
-- ---------------------------------------------------------------------------
-- 30_solve: solving puzzles with a model, the answer in the puzzle's form.
-- docs/solve.md.  The grid is text (Sudoku, maze) or int[] (Sudoku, token
-- sequences); max_steps 0 means hrm.default_max_steps, else the model's
-- halt_max_steps; halt is 'fixed', 'adaptive' or 'default' (hrm.default_halt).
-- ---------------------------------------------------------------------------

CREATE FUNCTION hrm_solve(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, integer, text) IS
    'hrm: solve a Sudoku (81 cells, "." or "0" blank) or a maze (rows of "# SG"; the path comes back as "o") with the model named by hrm.default_model; the answer has the input''s layout';

CREATE FUNCTION hrm_solve(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS integer[]
    AS 'MODULE_PATHNAME', 'hrm_solve_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(integer[], integer, text) IS
    'hrm: solve a Sudoku given as int[81] or int[9][9] (0 blank), or a token sequence for other models, with the model named by hrm.default_model; the answer has the input''s dimensions';

CREATE FUNCTION hrm_solve(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, text, integer, text) IS
    'hrm: solve a Sudoku (81 cells, "." or "0" blank) or a maze (rows of "# SG"; the path comes back as "o") with a model; max_steps segments (0: default), halt ''fixed'' or ''adaptive''';

CREATE FUNCTION hrm_solve(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS integer[]
    AS 'MODULE_PATHNAME', 'hrm_solve_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, integer[], integer, text) IS
    'hrm: solve a Sudoku given as int[81] or int[9][9] (0 blank), or a token sequence (argmax over the vocabulary) for other models; max_steps segments (0: default), halt ''fixed'' or ''adaptive''';

CREATE FUNCTION hrm_solve_detail(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                 OUT solution text, OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, integer, text) IS
    'hrm: hrm_solve with the default model, plus segments run, confidence (sigmoid of the last q_halt), valid (obeys the task''s rules), keeps_givens and the first violated rule';

CREATE FUNCTION hrm_solve_detail(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                 OUT solution integer[], OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(integer[], integer, text) IS
    'hrm: hrm_solve on an int[] grid with the default model, plus segments run, confidence (sigmoid of the last q_halt), valid, keeps_givens and the first violated rule (NULL for token models)';

CREATE FUNCTION hrm_solve_detail(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                 OUT solution text, OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, text, integer, text) IS
    'hrm: hrm_solve plus segments run, confidence (sigmoid of the last q_halt), valid (Sudoku: complete, no repeats; maze: a shortest S-G path), keeps_givens and the first violated rule';

CREATE FUNCTION hrm_solve_detail(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                 OUT solution integer[], OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, integer[], integer, text) IS
    'hrm: hrm_solve on an int[] grid plus segments run, confidence (sigmoid of the last q_halt), valid, keeps_givens and the first violated rule (NULL for token models)';

CREATE FUNCTION hrm_trace(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS TABLE (segment integer, prediction text, changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(text, integer, text) IS
    'hrm: the reasoning trace of hrm_solve with the default model: one row per segment with the prediction so far, the cells changed since the previous segment (the input, for segment 1) and the Q values';

CREATE FUNCTION hrm_trace(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS TABLE (segment integer, prediction integer[], changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(integer[], integer, text) IS
    'hrm: the reasoning trace of hrm_solve on an int[] grid with the default model: one row per segment with the prediction, cells changed since the previous segment (the input, for segment 1) and the Q values';

CREATE FUNCTION hrm_trace(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS TABLE (segment integer, prediction text, changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(text, text, integer, text) IS
    'hrm: the reasoning trace of hrm_solve: one row per segment with the prediction so far (in the input''s form), the cells changed since the previous segment (the input, for segment 1), q_halt and q_continue';

CREATE FUNCTION hrm_trace(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default')
    RETURNS TABLE (segment integer, prediction integer[], changed integer, q_halt real, q_continue real)
    AS 'MODULE_PATHNAME', 'hrm_trace_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 16;
COMMENT ON FUNCTION hrm_trace(text, integer[], integer, text) IS
    'hrm: the reasoning trace of hrm_solve on an int[] grid: one row per segment with the prediction, the cells changed since the previous segment (the input, for segment 1), q_halt and q_continue';

CREATE FUNCTION hrm_solve_task(model text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_task'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_solve_task(text) IS
    'hrm: the task hrm_solve reads a model''s grids as: sudoku (vocab 11, seq 81), maze (vocab 6, seq 900), arc (vocab 12, seq 900; token arrays), else the catalog''s task or generic (token arrays)';
