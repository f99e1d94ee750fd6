-- hrm — the Hierarchical Reasoning Model inside PostgreSQL.
--
-- This install script is assembled from sql/parts/*.sql in name order:
--   00_header   guard, schema
--   10_*        model catalog, import / export, inference
--   20_*        task toolkit (codecs, generators, solvers, checkers)
--   30_*        solving with models
--   40_*        training

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION hrm" to load this file. \quit

-- Catalog tables, views and internal objects live in schema hrm; the SQL
-- functions live in the schema the extension is created in (public by default).
CREATE SCHEMA hrm;
COMMENT ON SCHEMA hrm IS 'hrm: model catalog, checkpoints, training jobs';

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
    PRIMARY KEY (model, step)
);
COMMENT ON TABLE hrm.checkpoint IS 'hrm: training checkpoints; "state" is a large object with everything needed to resume';
COMMENT ON COLUMN hrm.checkpoint.state IS 'large object: weights, optimizer state, step and RNG state';

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
-- Shared model cache: one copy of each model's weights per cluster.

CREATE FUNCTION hrm_cache_info(
    OUT model text,
    OUT generation bigint,
    OUT bytes bigint,
    OUT mode text,
    OUT mapped_here boolean,
    OUT published timestamptz,
    OUT uses bigint,
    OUT database name)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hrm_cache_info'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION hrm_cache_info() IS
'Models loaded in shared memory (mode preload or dynamic) or, with hrm.shared_cache off, in this backend (mode backend): generation, bytes, whether this backend maps them, their database (other databases'' models only for superusers and pg_read_all_stats)';

CREATE FUNCTION hrm_cache_mode()
RETURNS text
AS 'MODULE_PATHNAME', 'hrm_cache_mode'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION hrm_cache_mode() IS
'How model weights are held: preload (shared_preload_libraries = hrm), dynamic (shared memory set up on demand) or backend (hrm.shared_cache = off: a copy per backend)';

CREATE VIEW hrm.cache AS
    SELECT model, generation, bytes, pg_size_pretty(bytes) AS size, mode, mapped_here, published, uses
    FROM hrm_cache_info()
    WHERE database OPERATOR(pg_catalog.=) pg_catalog.current_database();

COMMENT ON VIEW hrm.cache IS 'Models of this database whose weights are loaded, with their generation, size and sharing mode (hrm_cache_info() shows every database)';

-- ---------------------------------------------------------------------------
-- 20_tasks: task toolkit (Sudoku, mazes, ARC): codecs, generators, exact
-- solver, rule checkers, augmentation, ARC-AGI loader.  docs/tasks.md.
-- ---------------------------------------------------------------------------

-- Sudoku --------------------------------------------------------------------

CREATE FUNCTION hrm_sudoku_encode(puzzle text) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_sudoku_encode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_encode(text) IS
    'hrm: Sudoku text (81 cells, "." or "0" blank) to 81 tokens: blank 1, digit d -> d + 1 (vocabulary 11, PAD 0)';

CREATE FUNCTION hrm_sudoku_decode(tokens int[]) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_sudoku_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_decode(int[]) IS
    'hrm: 81 Sudoku tokens (1..10) back to 81-character text with "." for blanks';

CREATE FUNCTION hrm_sudoku_solve_exact(puzzle text) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_sudoku_solve_exact_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_solve_exact(text) IS
    'hrm: solve a Sudoku exactly (constraint propagation and backtracking): 81 digits, or NULL when there is no solution';

CREATE FUNCTION hrm_sudoku_count_solutions(puzzle text, max int DEFAULT 2) RETURNS int
    AS 'MODULE_PATHNAME', 'hrm_sudoku_count_solutions_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_count_solutions(text, int) IS
    'hrm: number of solutions of a Sudoku, counting stops at max (1 = unique with the default max 2)';

CREATE FUNCTION hrm_sudoku_check(puzzle text, answer text,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_sudoku_check_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_check(text, text) IS
    'hrm: check a Sudoku answer: valid (complete, no repeated digit in a row, column or box), keeps_givens, and the first violated rule (NULL when both hold)';

CREATE FUNCTION hrm_sudoku_generate(n int, blanks int, seed bigint)
    RETURNS TABLE (puzzle text, solution text)
    AS 'MODULE_PATHNAME', 'hrm_sudoku_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION hrm_sudoku_generate(int, int, bigint) IS
    'hrm: n random Sudokus with exactly blanks blanks and a unique solution (checked by the exact solver); the same seed gives the same rows';

CREATE FUNCTION hrm_sudoku_generate(n int, min_blanks int, max_blanks int, seed bigint)
    RETURNS TABLE (puzzle text, solution text)
    AS 'MODULE_PATHNAME', 'hrm_sudoku_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION hrm_sudoku_generate(int, int, int, bigint) IS
    'hrm: n random uniquely solvable Sudokus, each with a blank count drawn uniformly from min_blanks..max_blanks; deterministic for a seed';

CREATE FUNCTION hrm_sudoku_augment(puzzle text, solution text, seed bigint,
                                   OUT puzzle text, OUT solution text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_sudoku_augment_pg'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_augment(text, text, bigint) IS
    'hrm: the reference Sudoku augmentation drawn from seed (digit relabel, transpose, band/row and stack/column shuffles) applied to a puzzle and its solution (which may be NULL)';

CREATE FUNCTION hrm_sudoku_augment_inverse(grid text, seed bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_sudoku_augment_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_augment_inverse(text, bigint) IS
    'hrm: undo the augmentation of hrm_sudoku_augment with the same seed, on any 81-cell grid (puzzle, solution or a model answer)';

CREATE FUNCTION hrm_sudoku_augmentation(seed bigint,
                                        OUT digit_map int[], OUT transpose boolean,
                                        OUT row_perm int[], OUT col_perm int[])
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_sudoku_augmentation_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_sudoku_augmentation(bigint) IS
    'hrm: the augmentation a seed stands for: digit d becomes digit_map[d]; transpose first; new row i (column j) takes old row row_perm[i] (column col_perm[j]); 1-based';

-- Mazes ---------------------------------------------------------------------

CREATE FUNCTION hrm_maze_encode(maze text) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_maze_encode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_encode(text) IS
    'hrm: maze text (rows over "# SGo" joined by newlines, up to 30x30) to 900 tokens (# 1, space 2, S 3, G 4, o 5), the maze in the top-left corner of a 30x30 PAD (0) canvas';

CREATE FUNCTION hrm_maze_decode(tokens int[]) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_decode(int[]) IS
    'hrm: 900 maze tokens back to maze text; the shape comes from the PAD border';

CREATE FUNCTION hrm_maze_decode(tokens int[], size int) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_decode(int[], int) IS
    'hrm: 900 maze tokens back to maze text, requiring a size x size maze';

CREATE FUNCTION hrm_maze_solve(maze text) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_solve_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_solve(text) IS
    'hrm: the maze with a shortest S-to-G path (BFS) marked "o", or NULL when G cannot be reached';

CREATE FUNCTION hrm_maze_path_length(maze text) RETURNS int
    AS 'MODULE_PATHNAME', 'hrm_maze_path_length_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_path_length(text) IS
    'hrm: cells on a shortest S-to-G path, S and G included (steps + 1), or NULL when G cannot be reached';

CREATE FUNCTION hrm_maze_check(maze text, answer text,
                               OUT valid boolean, OUT shortest boolean, OUT reason text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_maze_check_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_check(text, text) IS
    'hrm: check a maze answer: valid (walls, S and G unchanged; the "o" cells join S to G with none stray), shortest (as short as a BFS path), and the first violated rule (NULL when both hold)';

CREATE FUNCTION hrm_maze_generate(n int, size int, min_path_length int, seed bigint)
    RETURNS TABLE (maze text, solution text)
    AS 'MODULE_PATHNAME', 'hrm_maze_generate_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 100;
COMMENT ON FUNCTION hrm_maze_generate(int, int, int, bigint) IS
    'hrm: n random size x size mazes (Lehnert et al.: 30-50% random walls, random S and G) whose shortest path has at least min_path_length cells, with that path marked "o"; deterministic for a seed';

CREATE FUNCTION hrm_maze_transform(maze text, tid int) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_transform_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_transform(text, int) IS
    'hrm: dihedral transform tid (0..7, reference ids) of maze text';

CREATE FUNCTION hrm_maze_transform_inverse(maze text, tid int) RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_maze_transform_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_maze_transform_inverse(text, int) IS
    'hrm: undo hrm_maze_transform(maze, tid)';

-- Grids and ARC -------------------------------------------------------------

CREATE FUNCTION hrm_grid_transform(grid int[], tid int) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_grid_transform_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_grid_transform(int[], int) IS
    'hrm: dihedral transform of a 2-D grid: 0 identity, 1/2/3 rotate 90/180/270 degrees counter-clockwise, 4 left-right flip, 5 up-down flip, 6 transpose, 7 anti-transpose';

CREATE FUNCTION hrm_grid_transform_inverse(grid int[], tid int) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_grid_transform_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_grid_transform_inverse(int[], int) IS
    'hrm: undo hrm_grid_transform(grid, tid): applies transform [0,3,2,1,4,5,6,7][tid]';

CREATE FUNCTION hrm_arc_permute_colors(grid int[], colors int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_permute_colors_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_permute_colors(int[], int[]) IS
    'hrm: recolour an ARC grid: colour c becomes colors[c + 1]; colors is a permutation of 0..9';

CREATE FUNCTION hrm_arc_color_perm_inverse(colors int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_color_perm_inverse_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_color_perm_inverse(int[]) IS
    'hrm: the inverse of a colour permutation (for undoing hrm_arc_permute_colors)';

CREATE FUNCTION hrm_arc_encode(grid int[], row_offset int DEFAULT 0, col_offset int DEFAULT 0)
    RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_encode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_encode(int[], int, int) IS
    'hrm: ARC grid to 900 tokens (PAD 0, EOS 1, colour c -> c + 2) on a 30x30 canvas at the given 0-based offset, with the EOS row below and EOS column right of the grid where they fit';

CREATE FUNCTION hrm_arc_decode(tokens int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_decode_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_decode(int[]) IS
    'hrm: the exact inverse of hrm_arc_encode (at any offset); any other token sequence is an error';

CREATE FUNCTION hrm_arc_crop(tokens int[]) RETURNS int[]
    AS 'MODULE_PATHNAME', 'hrm_arc_crop_pg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_crop(int[]) IS
    'hrm: read a predicted ARC grid as the reference evaluator does (largest top-left rectangle of colour tokens); NULL when empty';

CREATE FUNCTION hrm_arc_augment(input int[], output int[], seed bigint,
                                OUT input int[], OUT output int[],
                                OUT transform int, OUT colors int[])
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_arc_augment_pg'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hrm_arc_augment(int[], int[], bigint) IS
    'hrm: the reference ARC augmentation drawn from seed (a dihedral transform and a permutation of colours 1..9) applied to an input grid and its output (which may be NULL)';

CREATE FUNCTION hrm_arc_load(task jsonb, task_id text DEFAULT NULL)
    RETURNS TABLE (task_id text, split text, pair_index int, input int[], output int[])
    AS 'MODULE_PATHNAME', 'hrm_arc_load_pg'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION hrm_arc_load(jsonb, text) IS
    'hrm: the pairs of an ARC-AGI task ({"train": [...], "test": [...]} or the {"id": ..., "task": {...}} wrapper) as rows; pair_index is 0-based; output is NULL for test pairs without one';

-- ---------------------------------------------------------------------------
-- 30_solve: solving puzzles with a model, the answer in the puzzle's form.
-- docs/solve.md.  The grid is text (Sudoku, maze) or int[] (Sudoku, token
-- sequences); max_steps 0 means hrm.default_max_steps, else the model's
-- halt_max_steps; halt is 'fixed', 'adaptive' or 'default' (hrm.default_halt).
-- ---------------------------------------------------------------------------

CREATE FUNCTION hrm_solve(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, integer, text, integer) IS
    'hrm: solve a Sudoku (81 cells, "." or "0" blank) or a maze (rows of "# SG"; the path comes back as "o") with the model named by hrm.default_model; the answer has the input''s layout; views > 1 also solves the puzzle under views - 1 of its symmetries and votes (docs/solve.md)';

CREATE FUNCTION hrm_solve(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1)
    RETURNS integer[]
    AS 'MODULE_PATHNAME', 'hrm_solve_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(integer[], integer, text, integer) IS
    'hrm: solve a Sudoku given as int[81] or int[9][9] (0 blank), or a token sequence for other models, with the model named by hrm.default_model; the answer has the input''s dimensions; views > 1 votes over the puzzle''s symmetries (Sudoku only)';

CREATE FUNCTION hrm_solve(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_solve_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, text, integer, text, integer) IS
    'hrm: solve a Sudoku (81 cells, "." or "0" blank) or a maze (rows of "# SG"; the path comes back as "o") with a model; max_steps segments (0: default), halt ''fixed'' or ''adaptive''; views (1-64 Sudoku, 1-8 maze) solves the puzzle under views - 1 of its symmetries in one batch and picks a rule-valid, then majority, then most certain answer';

CREATE FUNCTION hrm_solve(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1)
    RETURNS integer[]
    AS 'MODULE_PATHNAME', 'hrm_solve_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve(text, integer[], integer, text, integer) IS
    'hrm: solve a Sudoku given as int[81] or int[9][9] (0 blank), or a token sequence (argmax over the vocabulary) for other models; max_steps segments (0: default), halt ''fixed'' or ''adaptive''; views (Sudoku 1-64, token models 1) as for text grids';

CREATE FUNCTION hrm_solve_detail(grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1,
                                 OUT solution text, OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, integer, text, integer) IS
    'hrm: hrm_solve with the default model, plus segments run, confidence (sigmoid of the last q_halt), valid (obeys the task''s rules), keeps_givens, the first violated rule, views run, views agreeing with the answer and its certainty (mean largest softmax probability)';

CREATE FUNCTION hrm_solve_detail(grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1,
                                 OUT solution integer[], OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(integer[], integer, text, integer) IS
    'hrm: hrm_solve on an int[] grid with the default model, plus segments run, confidence (sigmoid of the last q_halt), valid, keeps_givens, the first violated rule (NULL for token models), views run, views agreeing and certainty';

CREATE FUNCTION hrm_solve_detail(model text, grid text, max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1,
                                 OUT solution text, OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, text, integer, text, integer) IS
    'hrm: hrm_solve plus segments run, confidence (sigmoid of the last q_halt), valid (Sudoku: complete, no repeats; maze: a shortest S-G path), keeps_givens, the first violated rule, views run, views agreeing with the answer and its certainty (mean largest softmax probability)';

CREATE FUNCTION hrm_solve_detail(model text, grid integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default', views integer DEFAULT 1,
                                 OUT solution integer[], OUT segments integer, OUT confidence real,
                                 OUT valid boolean, OUT keeps_givens boolean, OUT reason text,
                                 OUT views_run integer, OUT views_agreeing integer, OUT certainty real)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_solve_detail_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION hrm_solve_detail(text, integer[], integer, text, integer) IS
    'hrm: hrm_solve on an int[] grid plus segments run, confidence (sigmoid of the last q_halt), valid, keeps_givens, the first violated rule (NULL for token models), views run, views agreeing and certainty';

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

-- Batched solving: many grids through one engine call per chunk of rows
-- (docs/solve.md#batches); one row per grid in input order with what
-- hrm_solve_detail returns.
CREATE FUNCTION hrm_solve_batch(model text, grids text[], max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                views integer DEFAULT 1)
    RETURNS TABLE (idx integer, solution text, segments integer, confidence real, valid boolean,
                   keeps_givens boolean, reason text, views_run integer, views_agreeing integer, certainty real)
    AS 'MODULE_PATHNAME', 'hrm_solve_batch_text'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 100;
COMMENT ON FUNCTION hrm_solve_batch(text, text[], integer, text, integer) IS
    'hrm: solve an array of Sudoku or maze grids in batches (one engine call per chunk of rows, adaptive halting lets rows leave early): one row per grid, idx its position, the answer as hrm_solve gives it and hrm_solve_detail''s columns';

CREATE FUNCTION hrm_solve_batch(model text, grids integer[], max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                views integer DEFAULT 1)
    RETURNS TABLE (idx integer, solution integer[], segments integer, confidence real, valid boolean,
                   keeps_givens boolean, reason text, views_run integer, views_agreeing integer, certainty real)
    AS 'MODULE_PATHNAME', 'hrm_solve_batch_array'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000 ROWS 100;
COMMENT ON FUNCTION hrm_solve_batch(text, integer[], integer, text, integer) IS
    'hrm: solve int[n][81], int[n][9][9] or int[n][seq_len] grids (one per element of the first dimension) in batches: one row per grid, idx its position, the answer with the grid''s shape and hrm_solve_detail''s columns';

CREATE FUNCTION hrm_solve_batch(model text, query text, max_steps integer DEFAULT 0, halt text DEFAULT 'default',
                                views integer DEFAULT 1)
    RETURNS TABLE (id bigint, solution text, segments integer, confidence real, valid boolean,
                   keeps_givens boolean, reason text, views_run integer, views_agreeing integer, certainty real)
    AS 'MODULE_PATHNAME', 'hrm_solve_batch_query'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED COST 10000 ROWS 1000;
COMMENT ON FUNCTION hrm_solve_batch(text, text, integer, text, integer) IS
    'hrm: solve the grids a read-only query (or table) returns as (id integer, puzzle text or int[]) rows, read by a cursor chunk by chunk and solved in batches: one row per query row in its order, the id, the answer as text and hrm_solve_detail''s columns';

-- Pretrained models shipped with the extension ----------------------------------

CREATE FUNCTION hrm_pretrained(
    OUT name text, OUT task text, OUT description text, OUT n_params bigint,
    OUT bytes bigint, OUT config jsonb, OUT metrics jsonb)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'hrm_pretrained'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION hrm_pretrained() IS
    'hrm: the pretrained models installed with the extension (make install), with their task, description, size, configuration and the accuracy measured for them';

CREATE FUNCTION hrm_load_pretrained(pretrained text, name text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hrm_load_pretrained'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_load_pretrained(text, text) IS
    'hrm: import an installed pretrained model (see hrm_pretrained()) into the catalog as "name" (default: the pretrained name), owned by you; replaces a model of that name you own';

-- ---------------------------------------------------------------------------
-- 40_train: training inside the database (background workers, checkpoints,
-- live progress, resume) and evaluation.  docs/train.md.
-- ---------------------------------------------------------------------------

-- Job ids; a job's row is written by its worker as it runs.
CREATE SEQUENCE hrm.job_seq;
COMMENT ON SEQUENCE hrm.job_seq IS 'hrm: training job ids';

CREATE TABLE hrm.job (
    id                   bigint      PRIMARY KEY,
    model                text        NOT NULL,
    role                 name,
    source               text,
    options              jsonb,
    state                text        NOT NULL CHECK (state IN ('running', 'finished', 'cancelled', 'failed')),
    pid                  integer,
    started              timestamptz NOT NULL DEFAULT now(),
    finished             timestamptz,
    start_step           bigint,
    step                 bigint,
    total_steps          bigint,
    examples             bigint,
    train_loss           double precision,
    train_exact_accuracy double precision,
    eval_exact_accuracy  double precision,
    seconds              double precision,
    last_checkpoint      bigint,
    error                text,
    sqlstate             text
);
COMMENT ON TABLE hrm.job IS 'hrm: every training job of this database and how it ended (hrm.training shows the live state)';
COMMENT ON COLUMN hrm.job.options IS 'the options the job was started with (resume merges them with the new call''s)';
COMMENT ON COLUMN hrm.job.start_step IS 'trainer step the job began at (0, or the step of the checkpoint it resumed)';
COMMENT ON COLUMN hrm.job.step IS 'trainer step reached';
COMMENT ON COLUMN hrm.job.examples IS 'examples drawn by this job (steps x batch_size)';
COMMENT ON COLUMN hrm.job.last_checkpoint IS 'step of the last checkpoint the job committed';
COMMENT ON COLUMN hrm.job.sqlstate IS 'SQLSTATE of the error a failed job ended with';

CREATE TABLE hrm.training_log (
    job                 bigint      NOT NULL,
    model               text        NOT NULL,
    step                bigint      NOT NULL,
    logged              timestamptz NOT NULL DEFAULT now(),
    elapsed             double precision,
    train_seconds       double precision,
    examples            bigint,
    loss                double precision,
    accuracy            double precision,
    exact_accuracy      double precision,
    lr                  double precision,
    epochs              double precision,
    examples_per_second double precision,
    eval_exact_accuracy double precision,
    eval_token_accuracy double precision,
    checkpoint          boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (job, step)
);
COMMENT ON TABLE hrm.training_log IS 'hrm: training curves: one row every log_every and at every checkpoint (loss and accuracies are means since the previous row; eval_* at checkpoints)';
COMMENT ON COLUMN hrm.training_log.elapsed IS 'seconds since the job began training (wall clock)';
COMMENT ON COLUMN hrm.training_log.train_seconds IS 'seconds spent in training steps (without checkpoints and their evaluations: what max_minutes counts)';
COMMENT ON COLUMN hrm.training_log.accuracy IS 'token accuracy of the training batches';
COMMENT ON COLUMN hrm.training_log.exact_accuracy IS 'fraction of training examples entirely right';
COMMENT ON COLUMN hrm.training_log.eval_exact_accuracy IS 'held-out exact accuracy (checkpoint rows)';
CREATE INDEX training_log_model ON hrm.training_log (model, job, step);

SELECT pg_catalog.pg_extension_config_dump('hrm.job', '');
SELECT pg_catalog.pg_extension_config_dump('hrm.training_log', '');
SELECT pg_catalog.pg_extension_config_dump('hrm.job_seq', '');

REVOKE ALL ON hrm.job, hrm.training_log FROM PUBLIC;
GRANT SELECT ON hrm.job, hrm.training_log TO PUBLIC;

-- Training ---------------------------------------------------------------------

CREATE FUNCTION hrm_train(model text, source text, options jsonb DEFAULT '{}', wait boolean DEFAULT NULL,
                          OUT job bigint, OUT steps bigint, OUT examples bigint,
                          OUT train_loss double precision, OUT train_exact_accuracy double precision,
                          OUT eval_exact_accuracy double precision, OUT seconds double precision,
                          OUT last_checkpoint bigint, OUT state text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_train_pg'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_train(text, text, jsonb, boolean) IS
    'hrm: train model (new or existing) on a table, view or query of (input, target) rows in a background worker that commits checkpoints; waits with NOTICE progress unless wait is false; options: docs/train.md';

CREATE FUNCTION hrm_train(source regclass,
                          OUT job bigint, OUT steps bigint, OUT examples bigint,
                          OUT train_loss double precision, OUT train_exact_accuracy double precision,
                          OUT eval_exact_accuracy double precision, OUT seconds double precision,
                          OUT last_checkpoint bigint, OUT state text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_train_default_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_train(regclass) IS
    'hrm: train the model named by hrm.default_model (created with the recipe defaults for the task found in the data) on the table''s first two columns (input, target) for up to 10 minutes';

CREATE FUNCTION hrm_wait(id bigint, progress double precision DEFAULT 0,
                         OUT job bigint, OUT steps bigint, OUT examples bigint,
                         OUT train_loss double precision, OUT train_exact_accuracy double precision,
                         OUT eval_exact_accuracy double precision, OUT seconds double precision,
                         OUT last_checkpoint bigint, OUT state text)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_wait_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_wait(bigint, double precision) IS
    'hrm: wait for a training job of this database to end and return its result (NOTICE progress every progress seconds when > 0); cancelling the wait does not stop the job';

CREATE FUNCTION hrm_cancel(job bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'hrm_cancel_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_cancel(bigint) IS
    'hrm: ask a training job to stop; it commits a last checkpoint ({"resume": true} continues from it); false if it had already ended';

CREATE FUNCTION hrm_training_jobs(OUT job bigint, OUT dboid oid, OUT model text, OUT roleid oid,
                                  OUT pid integer, OUT state text, OUT step bigint,
                                  OUT total_steps bigint, OUT loss double precision,
                                  OUT accuracy double precision, OUT exact_accuracy double precision,
                                  OUT eval_exact_accuracy double precision,
                                  OUT examples_per_second double precision,
                                  OUT started timestamptz, OUT updated timestamptz,
                                  OUT last_checkpoint bigint, OUT last_checkpoint_at timestamptz,
                                  OUT eta interval, OUT error text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'hrm_training_jobs_pg'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION hrm_training_jobs() IS
    'hrm: the training jobs in shared memory (running, and ended ones until their slot is reused) of every database (other databases'' jobs only for superusers and pg_read_all_stats); hrm.training shows this database''s';

CREATE VIEW hrm.training AS
SELECT t.job,
       d.datname AS database,
       t.model,
       r.rolname AS role,
       t.pid,
       t.state,
       t.step,
       t.total_steps,
       t.loss,
       t.accuracy,
       t.exact_accuracy,
       t.eval_exact_accuracy,
       t.examples_per_second,
       t.started,
       t.updated,
       t.last_checkpoint,
       t.last_checkpoint_at,
       t.eta,
       t.error
  FROM hrm_training_jobs() t
  LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) t.dboid
  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) t.roleid
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
 ORDER BY t.started, t.job;
COMMENT ON VIEW hrm.training IS 'hrm: live state of the training jobs of this database (job ids are per database), from shared memory: step of total, loss, accuracy, examples/s, last checkpoint, ETA, error; hrm_training_jobs() shows every database';
GRANT SELECT ON hrm.training TO PUBLIC;

-- Evaluation -------------------------------------------------------------------

CREATE FUNCTION hrm_evaluate(model text, source text, options jsonb DEFAULT '{}',
                             OUT "rows" bigint, OUT exact_accuracy double precision,
                             OUT token_accuracy double precision, OUT mean_segments double precision,
                             OUT rows_per_second double precision)
    RETURNS record
    AS 'MODULE_PATHNAME', 'hrm_evaluate_pg'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION hrm_evaluate(text, text, jsonb) IS
    'hrm: run a model on a table, view or query of (input, target) rows in this backend: exact and token accuracy of the argmax, mean segments, rows per second; options segments, halt, max_rows, batch_rows, input, target, puzzle_id, views (test-time scaling over the task''s symmetries)';
