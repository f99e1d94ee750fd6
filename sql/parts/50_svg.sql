-- Pictures: grids and reasoning traces as SVG text (src/pg/hrm_svg.c) ----------------

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
