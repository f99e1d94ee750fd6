-- Errors that say what to fix: a PyTorch file given to hrm_import (convert
-- it), a safetensors file without its configuration (the keys it needs,
-- what the file has), hrm_train architecture errors in terms of its
-- options, and puzzle ids out of the model's range (the row, the range).
-- Each with its SQLSTATE, message, detail and hint.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
    hint text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
        || CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END $$;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
CREATE TEMP TABLE fx AS SELECT 'sudoku-tiny' AS name, decode(:'w', 'base64') AS file;
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
INSERT INTO fx SELECT 'grid-puzzle-ids', decode(:'w', 'base64');

-- 1. torch.save files: a zip archive (the current format) and a pickle
--    (the legacy one, protocol 2): 22P03 and the converter
SELECT pg_temp.err($$SELECT hrm_import('h', '\x504b0304140000000800000021000000'::bytea)$$);
SELECT pg_temp.err($$SELECT hrm_import('h', '\x80027d7100285803000000'::bytea)$$);
SELECT pg_temp.err($$SELECT hrm_safetensors_metadata('\x504b03040a00'::bytea)$$);
-- a safetensors file whose header length starts with the same bytes as a
-- pickle (0x80 0x02: a 640-byte header) is read as safetensors
SELECT hrm_safetensors_metadata('\x8002000000000000'::bytea
                                || convert_to(rpad('{"__metadata__": {"note": "x"}}', 640), 'UTF8')) AS metadata;

-- 2. no hrm_config: the keys it needs, the file's metadata keys, what its
--    embedding suggests
SELECT pg_temp.err($$SELECT hrm_import('h', '\x8002000000000000'::bytea
                                            || convert_to(rpad('{"__metadata__": {"note": "x"}}', 640), 'UTF8'))$$);
SELECT pg_temp.err($$SELECT hrm_import('h', overlay(file placing convert_to('hrm_cfgxxx', 'UTF8')
                                                    from position(convert_to('hrm_config', 'UTF8') in file)))
                       FROM fx WHERE name = ''sudoku-tiny''$$);
-- a configuration without seq_len or vocab_size names them
SELECT pg_temp.err($$SELECT hrm_import('h', file, '{"hidden_size": 64, "num_heads": 2}') FROM fx WHERE name = ''sudoku-tiny''$$);
SELECT pg_temp.err($$SELECT hrm_import('h', file, '{"seq_len": 81}') FROM fx WHERE name = ''sudoku-tiny''$$);

-- 3. hrm_train: architecture errors in terms of its options
CREATE TABLE h_sudoku AS SELECT * FROM hrm_sudoku_generate(20, 20, 1);
CREATE TABLE h_maze AS SELECT maze, solution FROM hrm_maze_generate(4, 10, 4, 1);
SELECT pg_temp.err($$SELECT hrm_train('h_new', 'h_sudoku', '{"hidden_size": 30, "num_heads": 4}')$$);
SELECT pg_temp.err($$SELECT hrm_train('h_new', 'h_sudoku', '{"hidden_size": 36, "num_heads": 4}')$$);
SELECT pg_temp.err($$SELECT hrm_train('h_new', 'h_maze', '{"attn_mask": "sudoku"}')$$);
SELECT pg_temp.err($$SELECT hrm_train('h_new', 'h_sudoku', '{"hidden_size": 10000, "num_heads": 8}')$$);
-- the Sudoku recipe trains a TRM: H_layers needs "arch": "hrm"
SELECT pg_temp.err($$SELECT hrm_train('h_new', 'h_sudoku', '{"H_layers": 4}')$$);
SELECT count(*) AS no_model_left FROM hrm.model WHERE name = 'h_new';

-- 4. puzzle ids out of range: the row (in the source's order) and the range
-- a model of 7 puzzle ids (0 to 6), on rows of 100 tokens
SELECT hrm_import('h_ids', file) FROM fx WHERE name = 'grid-puzzle-ids';
CREATE TABLE h_rows AS
SELECT i, array_fill(1, ARRAY[100]) AS input, array_fill(2, ARRAY[100]) AS target, pid
  FROM unnest(ARRAY[0, 6, 9, 2]) WITH ORDINALITY AS u(pid, i);
SELECT pg_temp.err($$SELECT * FROM hrm_evaluate('h_ids', 'SELECT input, target, pid FROM h_rows ORDER BY i',
                                                '{"puzzle_id": "pid"}')$$);
SELECT "rows" FROM hrm_evaluate('h_ids', 'SELECT input, target, pid FROM h_rows WHERE pid < 7', '{"puzzle_id": "pid"}');
-- a model of one puzzle id
SELECT hrm_import('h_one', file, task => 'sudoku') FROM fx WHERE name = 'sudoku-tiny';
SELECT pg_temp.err($$SELECT * FROM hrm_evaluate('h_one', 'SELECT puzzle, solution, 1 AS pid FROM h_sudoku',
                                                '{"puzzle_id": "pid"}')$$);
-- hrm_train on an existing model checks the same way
SELECT pg_temp.err($$SELECT hrm_train('h_ids', 'SELECT input, target, pid FROM h_rows ORDER BY i',
                                      '{"puzzle_id": "pid", "steps": 1}')$$);

SELECT hrm_drop_model('h_ids'), hrm_drop_model('h_one');
DROP TABLE h_sudoku, h_maze, h_rows;
