-- Bad input at every SQL entry point: each case is one call that must fail
-- with its own SQLSTATE (never a crash, never XX000, never "ok").  Weight
-- files are made from the fixtures by byte surgery on the bytea (header
-- JSON rewritten, lengths and offsets changed, non-finite values written
-- into the data).  After the run: nothing was half-written (no stray model,
-- job, checkpoint or large object), and every model still works.
--
-- The cases run in a database of their own, so that the training cases take
-- no job ids of the other suites.  test/run_all.sh also checks the server
-- log for crashes after the suites.
SET client_min_messages = warning;
SELECT current_database() AS origdb \gset
CREATE DATABASE regress_hrm_bad_input;
\c regress_hrm_bad_input
SET client_min_messages = warning;
CREATE EXTENSION hrm;

-- ---------------------------------------------------------------------------
-- Tools.

-- The SQLSTATE of a statement ('ok' if it succeeds).
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || E'\t' || SQLERRM;
END $$;

-- Little-endian 8-byte integer (the safetensors header length).
CREATE FUNCTION pg_temp.le64(n numeric) RETURNS bytea LANGUAGE sql AS $$
    SELECT decode(string_agg(lpad(to_hex((trunc(n / (256::numeric ^ i)) % 256)::int), 2, '0'), '' ORDER BY i), 'hex')
      FROM generate_series(0, 7) AS i
$$;

-- A safetensors file's header length, header (text), data section.
CREATE FUNCTION pg_temp.hlen(f bytea) RETURNS bigint LANGUAGE sql AS $$
    SELECT sum(get_byte(f, i)::bigint << (8 * i)) FROM generate_series(0, 7) AS i
$$;
CREATE FUNCTION pg_temp.hdr(f bytea) RETURNS text LANGUAGE sql AS $$
    SELECT convert_from(substring(f FROM 9 FOR pg_temp.hlen(f)::int), 'UTF8')
$$;
CREATE FUNCTION pg_temp.body(f bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT substring(f FROM 9 + pg_temp.hlen(f)::int)
$$;
-- A file of header h and the data section of f.
CREATE FUNCTION pg_temp.rebuild(f bytea, h text) RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.le64(octet_length(convert_to(h, 'UTF8'))) || convert_to(h, 'UTF8') || pg_temp.body(f)
$$;
-- f with one header value replaced (jsonb_set on the parsed header).
CREATE FUNCTION pg_temp.hset(f bytea, path text[], v jsonb) RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.rebuild(f, jsonb_set(pg_temp.hdr(f)::jsonb, path, v, true)::text)
$$;
-- f without one header entry.
CREATE FUNCTION pg_temp.hdel(f bytea, path text[]) RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.rebuild(f, (pg_temp.hdr(f)::jsonb #- path)::text)
$$;
-- f with its header text edited (a regular expression, first match).
CREATE FUNCTION pg_temp.hsub(f bytea, pat text, rep text) RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.rebuild(f, regexp_replace(pg_temp.hdr(f), pat, rep))
$$;
-- f with bytes b written at offset off of tensor t's data.
CREATE FUNCTION pg_temp.poke(f bytea, t text, off int, b bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT overlay(f PLACING b
                   FROM 9 + pg_temp.hlen(f)::int + ((pg_temp.hdr(f)::jsonb -> t -> 'data_offsets' ->> 0)::int) + off)
$$;

-- ---------------------------------------------------------------------------
-- Fixtures and models.
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
CREATE TABLE fx AS SELECT 'sud'::text AS name, decode(:'w', 'base64') AS file;
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/grid-puzzle-ids.weights.safetensors"`
INSERT INTO fx VALUES ('gen', decode(:'w', 'base64'));
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/trm/trm-tiny.weights.safetensors"`
INSERT INTO fx VALUES ('trm', decode(:'w', 'base64'));
\set w `base64 -w0 test/data/solve_maze_tiny.safetensors`
INSERT INTO fx VALUES ('maze', decode(:'w', 'base64'));
\unset w
ALTER TABLE fx ADD COLUMN config jsonb;
UPDATE fx SET config = (hrm_safetensors_metadata(file)->>'hrm_config')::jsonb;

-- The surgery tools are exact: a header rewritten through jsonb (keys
-- reordered, spacing changed) gives the same model.
SELECT hrm_import(name, file) AS imported FROM fx ORDER BY name;
SELECT hrm_import('arc', file, config || '{"seq_len": 900}') AS imported FROM fx WHERE name = 'gen';
SELECT hrm_import('sudt', file, task => 'sudoku') AS imported FROM fx WHERE name = 'sud';
SELECT hrm_import('rebuilt', pg_temp.rebuild(file, pg_temp.hdr(file)::jsonb::text)) AS imported FROM fx WHERE name = 'sud';
SELECT hrm_export('rebuilt') = hrm_export('sud') AS rebuilt_same;
SELECT hrm_drop_model('rebuilt');
-- non-ASCII UTF-8 in a header comes through as text
SELECT hrm_safetensors_metadata(pg_temp.hset(s, '{__metadata__,note}', '"café ✓"'))->>'note' AS note,
       (SELECT name FROM hrm_safetensors_info(pg_temp.hsub(s, 'q_head.bias', 'q_head.bïas')) WHERE name LIKE '%bïas') AS name
  FROM (SELECT file AS s FROM fx WHERE name = 'sud') x;
SELECT name, hrm_solve_task(name) FROM hrm.model ORDER BY name;

-- Shorthands for the cases.
CREATE TABLE f AS SELECT file AS s FROM fx WHERE name = 'sud';
CREATE TABLE cfg AS SELECT config AS c FROM fx WHERE name = 'sud';
CREATE TABLE g AS SELECT hrm_sudoku_encode(puzzle) AS t, puzzle AS p, solution AS sol
                    FROM hrm_sudoku_generate(1, 30, 5);
CREATE TABLE mz AS SELECT maze AS m, solution AS sol FROM hrm_maze_generate(1, 30, 10, 3);
-- training and evaluation sources
CREATE TABLE src_sud AS SELECT puzzle AS input, solution AS target FROM hrm_sudoku_generate(8, 20, 11);
CREATE TABLE src_types (id int, flag boolean, x float8, input text, target text);
INSERT INTO src_types SELECT 1, true, 1.5, input, target FROM src_sud LIMIT 1;
CREATE TABLE src_log (x text);
CREATE SEQUENCE src_seq;
CREATE FUNCTION src_writes() RETURNS boolean LANGUAGE sql AS $$ INSERT INTO src_log VALUES ('w') RETURNING true $$;
CREATE ROLE regress_hrm_bad_role;
CREATE TABLE src_private AS SELECT * FROM src_sud;
GRANT SELECT ON f, g, mz, src_sud TO regress_hrm_bad_role;

SELECT count(*) AS los_before FROM pg_largeobject_metadata \gset
CREATE TABLE exports AS SELECT name, generation, md5(hrm_export(name)) AS md5 FROM hrm.model;

-- ---------------------------------------------------------------------------
-- The cases: entry point, what is wrong, the SQLSTATE expected, the call.
CREATE TABLE cases (id serial, entry text, label text, want text, q text);

-- hrm_import: names --------------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_import', 'name empty', '42602', $q$SELECT hrm_import('', s) FROM f$q$),
('hrm_import', 'name 64 bytes', '42602', $q$SELECT hrm_import(repeat('x', 64), s) FROM f$q$),
('hrm_import', 'name 1 MB', '42602', $q$SELECT hrm_import(repeat('x', 1048576), s) FROM f$q$),
('hrm_import', 'name 32 two-byte chars (64 bytes)', '42602', $q$SELECT hrm_import(repeat('é', 32), s) FROM f$q$),
('hrm_import', 'name with a tab', '42602', $q$SELECT hrm_import(E'a\tb', s) FROM f$q$),
('hrm_import', 'name with a newline', '42602', $q$SELECT hrm_import(E'a\nb', s) FROM f$q$),
('hrm_import', 'name with \x01', '42602', $q$SELECT hrm_import('a' || chr(1), s) FROM f$q$),
('hrm_import', 'name with DEL', '42602', $q$SELECT hrm_import('a' || chr(127), s) FROM f$q$),
('hrm_import', 'name with ESC', '42602', $q$SELECT hrm_import(chr(27) || '[31m', s) FROM f$q$),
('hrm_import', 'name NULL', '22004', $q$SELECT hrm_import(NULL, s) FROM f$q$),
('hrm_import', 'task empty', '22023', $q$SELECT hrm_import('x', s, NULL, '') FROM f$q$),
('hrm_import', 'task upper case', '22023', $q$SELECT hrm_import('x', s, NULL, 'Sudoku') FROM f$q$),
('hrm_import', 'task with punctuation', '22023', $q$SELECT hrm_import('x', s, NULL, 'su-doku!') FROM f$q$),
('hrm_import', 'task 64 bytes', '22023', $q$SELECT hrm_import('x', s, NULL, repeat('t', 64)) FROM f$q$),
('hrm_import', 'task starting with a digit', '22023', $q$SELECT hrm_import('x', s, NULL, '9x9') FROM f$q$),
('hrm_import', 'task with a control character', '22023', $q$SELECT hrm_import('x', s, NULL, E'sudoku\n') FROM f$q$);

-- hrm_import: weight files --------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_import', 'weights NULL', '22004', $q$SELECT hrm_import('x', NULL)$q$),
('hrm_import', 'file empty', '22P03', $q$SELECT hrm_import('x', '\x')$q$),
('hrm_import', 'file 7 bytes', '22P03', $q$SELECT hrm_import('x', '\x01000000000000')$q$),
('hrm_import', 'header length 0', '22P03', $q$SELECT hrm_import('x', '\x0000000000000000')$q$),
('hrm_import', 'header length 1, "{"', '22P03', $q$SELECT hrm_import('x', '\x01000000000000007b')$q$),
('hrm_import', 'header length past the end', '22P03', $q$SELECT hrm_import('x', overlay(s PLACING pg_temp.le64(octet_length(s)) FROM 1)) FROM f$q$),
('hrm_import', 'header length one past the end', '22P03', $q$SELECT hrm_import('x', overlay(s PLACING pg_temp.le64(octet_length(s) - 7) FROM 1)) FROM f$q$),
('hrm_import', 'header length 2^63 - 1', '22P03', $q$SELECT hrm_import('x', overlay(s PLACING '\xffffffffffffff7f' FROM 1)) FROM f$q$),
('hrm_import', 'header length 2^64 - 1', '22P03', $q$SELECT hrm_import('x', overlay(s PLACING '\xffffffffffffffff' FROM 1)) FROM f$q$),
('hrm_import', 'header length 2^32 + real length', '22P03', $q$SELECT hrm_import('x', overlay(s PLACING pg_temp.le64(4294967296 + pg_temp.hlen(s)) FROM 1)) FROM f$q$),
('hrm_import', 'header length 1 short', '22P03', $q$SELECT hrm_import('x', overlay(s PLACING pg_temp.le64(pg_temp.hlen(s) - 1) FROM 1)) FROM f$q$),
('hrm_import', 'truncated in the header', '22P03', $q$SELECT hrm_import('x', substring(s FOR 1000)) FROM f$q$),
('hrm_import', 'truncated after the header', '22P03', $q$SELECT hrm_import('x', substring(s FOR 8 + pg_temp.hlen(s)::int)) FROM f$q$),
('hrm_import', 'truncated by one byte', '22P03', $q$SELECT hrm_import('x', substring(s FOR octet_length(s) - 1)) FROM f$q$),
('hrm_import', 'trailing bytes after the data', '22P03', $q$SELECT hrm_import('x', s || '\x00000000') FROM f$q$),
('hrm_import', 'header not JSON', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, 'not json at all')) FROM f$q$),
('hrm_import', 'header JSON array', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, '[1, 2, 3]')) FROM f$q$),
('hrm_import', 'header JSON string', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, '"x"')) FROM f$q$),
('hrm_import', 'header JSON null', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, 'null')) FROM f$q$),
('hrm_import', 'header JSON cut in the middle', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, left(pg_temp.hdr(s), 500))) FROM f$q$),
('hrm_import', 'header JSON with trailing garbage', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, pg_temp.hdr(s) || ' }')) FROM f$q$),
('hrm_import', 'header JSON two objects', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, pg_temp.hdr(s) || '{}')) FROM f$q$),
('hrm_import', 'header with a NUL byte', '22P03', $q$SELECT hrm_import('x', overlay(s PLACING '\x00' FROM 10)) FROM f$q$),
('hrm_import', 'header with invalid UTF-8', '22021', $q$SELECT hrm_import('x', overlay(s PLACING '\xff' FROM 11)) FROM f$q$),
('hrm_import', 'a metadata value not UTF-8', '22021', $q$SELECT hrm_import('x', overlay(s PLACING '\xff' FROM position('rope'::bytea IN s))) FROM f$q$),
('hrm_import', 'a metadata key not UTF-8', '22021', $q$SELECT hrm_import('x', overlay(s PLACING '\xc3' FROM position('hrm_config'::bytea IN s))) FROM f$q$),
('hrm_import', 'a tensor name not UTF-8, client_encoding LATIN1', '22021', $q$SET LOCAL client_encoding = 'LATIN1'; SELECT hrm_import('x', overlay(s PLACING '\xe9' FROM position('H_init'::bytea IN s))) FROM f$q$),
('hrm_import', 'an overlong UTF-8 encoding of "/"', '22021', $q$SELECT hrm_import('x', overlay(s PLACING '\xc0af' FROM position('H_init'::bytea IN s))) FROM f$q$),
('hrm_import', 'a UTF-16 surrogate encoded in UTF-8', '22021', $q$SELECT hrm_import('x', overlay(s PLACING '\xeda080' FROM position('H_init'::bytea IN s))) FROM f$q$),
('hrm_import', 'header unterminated string', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, '{"model.inner.H_init": {"dtype": "F32')) FROM f$q$),
('hrm_import', 'header bad escape', '22P03', $q$SELECT hrm_import('x', pg_temp.hsub(s, '"F32"', '"F\q32"')) FROM f$q$),
('hrm_import', 'header deeply nested', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, '{"a": ' || repeat('[', 100000) || repeat(']', 100000) || '}')) FROM f$q$),
('hrm_import', 'header number 1e999', '22P03', $q$SELECT hrm_import('x', pg_temp.hsub(s, '\[0, 256\]', '[0, 1e999]')) FROM f$q$),
('hrm_import', 'empty header object', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, '{}')) FROM f$q$),
('hrm_import', 'tensor entry not an object', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init}', '[1, 2]')) FROM f$q$),
('hrm_import', 'tensor entry null', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init}', 'null')) FROM f$q$),
('hrm_import', 'dtype missing', '22P03', $q$SELECT hrm_import('x', pg_temp.hdel(s, '{model.inner.H_init,dtype}')) FROM f$q$),
('hrm_import', 'dtype unknown', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,dtype}', '"F31"')) FROM f$q$),
('hrm_import', 'dtype a number', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,dtype}', '32')) FROM f$q$),
('hrm_import', 'dtype lower case', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,dtype}', '"f32"')) FROM f$q$),
('hrm_import', 'dtype I32 for a weight', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,dtype}', '"I32"')) FROM f$q$),
('hrm_import', 'dtype BOOL for a weight', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,dtype}', '"BOOL"')) FROM f$q$),
('hrm_import', 'dtype F16 (size does not match)', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,dtype}', '"F16"')) FROM f$q$),
('hrm_import', 'dtype F64 (size does not match)', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,dtype}', '"F64"')) FROM f$q$),
('hrm_import', 'shape missing', '22P03', $q$SELECT hrm_import('x', pg_temp.hdel(s, '{model.inner.H_init,shape}')) FROM f$q$),
('hrm_import', 'shape not an array', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '64')) FROM f$q$),
('hrm_import', 'shape negative', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[-64]')) FROM f$q$),
('hrm_import', 'shape -1 x -64', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[-1, -64]')) FROM f$q$),
('hrm_import', 'shape fractional', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[63.5]')) FROM f$q$),
('hrm_import', 'shape a string', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '["64"]')) FROM f$q$),
('hrm_import', 'shape 2^62 elements', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[4611686018427387904]')) FROM f$q$),
('hrm_import', 'shape product overflows 64 bits', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[4294967296, 4294967296, 64]')) FROM f$q$),
('hrm_import', 'shape product wraps to 64', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[18446744073709551616, 64]')) FROM f$q$),
('hrm_import', 'shape with 0 (size mismatch)', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[0, 64]')) FROM f$q$),
('hrm_import', 'shape of 100 dimensions', '54000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', ('[64' || repeat(', 1', 99) || ']')::jsonb)) FROM f$q$),
('hrm_import', 'shape transposed', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.lm_head.weight,shape}', '[64, 11]')) FROM f$q$),
('hrm_import', 'shape reshaped (same size)', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,shape}', '[8, 8]')) FROM f$q$),
('hrm_import', 'data_offsets missing', '22P03', $q$SELECT hrm_import('x', pg_temp.hdel(s, '{model.inner.H_init,data_offsets}')) FROM f$q$),
('hrm_import', 'data_offsets one number', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[0]')) FROM f$q$),
('hrm_import', 'data_offsets three numbers', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[0, 256, 512]')) FROM f$q$),
('hrm_import', 'data_offsets reversed', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[256, 0]')) FROM f$q$),
('hrm_import', 'data_offsets negative', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[-256, 0]')) FROM f$q$),
('hrm_import', 'data_offsets past the data', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.q_head.bias,data_offsets}', to_jsonb(ARRAY[octet_length(pg_temp.body(s)) - 4, octet_length(pg_temp.body(s)) + 4]))) FROM f$q$),
('hrm_import', 'data_offsets at 2^63', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[9223372036854775552, 9223372036854775808]')) FROM f$q$),
('hrm_import', 'data_offsets wrap around 2^64', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[18446744073709551360, 0]')) FROM f$q$),
('hrm_import', 'data_offsets overlap the next tensor', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.L_init,data_offsets}', '[0, 256]')) FROM f$q$),
('hrm_import', 'data_offsets partly overlap', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.L_init,data_offsets}', '[128, 384]')) FROM f$q$),
('hrm_import', 'data_offsets leave a gap', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[0, 252]')) FROM f$q$),
('hrm_import', 'data_offsets not a multiple of the dtype', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[0, 255]')) FROM f$q$),
('hrm_import', 'data_offsets strings', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '["0", "256"]')) FROM f$q$),
('hrm_import', 'unknown key in a tensor entry', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{model.inner.H_init,offsets}', '[0, 256]')) FROM f$q$),
('hrm_import', 'duplicate tensor name', '22P03', $q$SELECT hrm_import('x', pg_temp.rebuild(s, regexp_replace(pg_temp.hdr(s), '^\{', '{"model.inner.H_init": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}, '))) FROM f$q$),
('hrm_import', 'tensor entry removed, its bytes left over', '22P03', $q$SELECT hrm_import('x', pg_temp.hdel(s, '{model.inner.H_init}')) FROM f$q$),
('hrm_import', 'tensor missing (the last one, with its bytes)', '22000', $q$SELECT hrm_import('x', pg_temp.rebuild(substring(s FOR octet_length(s) - 65536), (pg_temp.hdr(s)::jsonb #- '{model.inner.L_level.layers.1.mlp.down_proj.weight}')::text)) FROM f$q$),
('hrm_import', 'unknown tensor', '22000', $q$SELECT hrm_import('x', pg_temp.hsub(s, '"model.inner.q_head.bias"', '"model.inner.q_head.bias2"')) FROM f$q$),
('hrm_import', 'a third layer', '22000', $q$SELECT hrm_import('x', pg_temp.hsub(s, 'L_level.layers.1.mlp.down_proj', 'L_level.layers.2.mlp.down_proj')) FROM f$q$),
('hrm_import', 'a layer index 2^31', '22000', $q$SELECT hrm_import('x', pg_temp.hsub(s, 'L_level.layers.1.mlp.down_proj', 'L_level.layers.2147483648.mlp.down_proj')) FROM f$q$),
('hrm_import', 'a tensor name 100 KB long', '22000', $q$SELECT hrm_import('x', pg_temp.hsub(s, '"model.inner.q_head.bias"', '"' || repeat('q', 100000) || '"')) FROM f$q$),
('hrm_import', 'NaN in H_init', '22P01', $q$SELECT hrm_import('x', pg_temp.poke(s, 'model.inner.H_init', 0, '\x0000c07f')) FROM f$q$),
('hrm_import', 'negative NaN in a layer', '22P01', $q$SELECT hrm_import('x', pg_temp.poke(s, 'model.inner.L_level.layers.1.mlp.down_proj.weight', 65532, '\x0000c0ff')) FROM f$q$),
('hrm_import', '+Inf in the embedding', '22P01', $q$SELECT hrm_import('x', pg_temp.poke(s, 'model.inner.embed_tokens.embedding_weight', 40, '\x0000807f')) FROM f$q$),
('hrm_import', '-Inf in q_head.bias', '22P01', $q$SELECT hrm_import('x', pg_temp.poke(s, 'model.inner.q_head.bias', 4, '\x000080ff')) FROM f$q$),
('hrm_import', 'signalling NaN in lm_head', '22P01', $q$SELECT hrm_import('x', pg_temp.poke(s, 'model.inner.lm_head.weight', 8, '\x0100807f')) FROM f$q$),
('hrm_import', 'NaN in the puzzle embedding', '22P01', $q$SELECT hrm_import('x', pg_temp.poke(s, 'model.inner.puzzle_emb.weights', 0, '\x0000c07f')) FROM f$q$),
('hrm_import', '__metadata__ not an object', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{__metadata__}', '[1]')) FROM f$q$),
('hrm_import', '__metadata__ value a number', '22P03', $q$SELECT hrm_import('x', pg_temp.hset(s, '{__metadata__,hrm_config}', '5')) FROM f$q$),
('hrm_import', 'hrm_config not JSON', '22023', $q$SELECT hrm_import('x', pg_temp.hset(s, '{__metadata__,hrm_config}', '"{seq_len: 81"')) FROM f$q$),
('hrm_import', 'hrm_config a JSON array', '22023', $q$SELECT hrm_import('x', pg_temp.hset(s, '{__metadata__,hrm_config}', '"[81, 11]"')) FROM f$q$),
('hrm_import', 'hrm_config missing, no config', '22023', $q$SELECT hrm_import('x', pg_temp.hdel(s, '{__metadata__}')) FROM f$q$),
('hrm_import', 'hrm_config of another model', '22000', $q$SELECT hrm_import('x', pg_temp.hset(s, '{__metadata__,hrm_config}', to_jsonb((SELECT config::text FROM fx WHERE name = 'gen')))) FROM f$q$),
('hrm_import', 'hrm_task metadata invalid', '22023', $q$SELECT hrm_import('x', pg_temp.hset(s, '{__metadata__,hrm_task}', '"Not A Task"')) FROM f$q$),
('hrm_import', 'tensor called __metadata__x', '22000', $q$SELECT hrm_import('x', pg_temp.hsub(s, '"model.inner.H_init"', '"__metadata__x"')) FROM f$q$),
('hrm_import', 'a TRM file as HRM', '22000', $q$SELECT hrm_import('x', file, (SELECT c FROM cfg)) FROM fx WHERE name = 'trm'$q$),
('hrm_import', 'an HRM file as TRM', '22000', $q$SELECT hrm_import('x', s, (SELECT config FROM fx WHERE name = 'trm')) FROM f$q$);

-- hrm_import: configurations ------------------------------------------------
INSERT INTO cases (entry, label, want, q)
SELECT 'hrm_import', 'config ' || k || ' = ' || v, want,
       format($q$SELECT hrm_import('x', s, c || jsonb_build_object(%L, %L::jsonb)) FROM f, cfg$q$, k, v)
  FROM (VALUES
    ('seq_len', '0', '22023'), ('seq_len', '-81', '22023'), ('seq_len', '8193', '22023'),
    ('seq_len', '2147483647', '22023'), ('seq_len', '2147483648', '22023'), ('seq_len', '-2147483648', '22023'),
    ('seq_len', '9223372036854775807', '22023'), ('seq_len', '1e300', '22023'), ('seq_len', '81.5', '22023'),
    ('seq_len', '"81"', '22023'), ('seq_len', 'true', '22023'), ('seq_len', 'null', '22023'),
    ('seq_len', '[81]', '22023'), ('seq_len', '{"v": 81}', '22023'),
    ('vocab_size', '1', '22023'), ('vocab_size', '0', '22023'), ('vocab_size', '-11', '22023'),
    ('vocab_size', '65537', '22023'), ('vocab_size', '4294967307', '22023'),
    ('hidden_size', '0', '22023'), ('hidden_size', '-64', '22023'), ('hidden_size', '1', '22023'),
    ('hidden_size', '8194', '22023'), ('hidden_size', '1000000000', '22023'), ('hidden_size', '63', '22023'),
    ('num_heads', '0', '22023'), ('num_heads', '-2', '22023'), ('num_heads', '3', '22023'),
    ('num_heads', '257', '22023'), ('num_heads', '128', '22023'),
    ('H_cycles', '0', '22023'), ('H_cycles', '65', '22023'), ('H_cycles', '-1', '22023'),
    ('L_cycles', '0', '22023'), ('L_cycles', '256', '22023'),
    ('H_layers', '-1', '22023'), ('H_layers', '0', '22023'), ('H_layers', '65', '22023'),
    ('L_layers', '0', '22023'), ('L_layers', '1000', '22023'),
    ('halt_max_steps', '0', '22023'), ('halt_max_steps', '1025', '22023'), ('halt_max_steps', '-16', '22023'),
    ('halt_exploration_prob', '-0.1', '22023'), ('halt_exploration_prob', '1.5', '22023'),
    ('halt_exploration_prob', '"often"', '22023'),
    ('num_puzzle_identifiers', '-1', '22023'), ('num_puzzle_identifiers', '16777217', '22023'),
    ('num_puzzle_identifiers', '2', '22000'),
    ('puzzle_emb_ndim', '-64', '22023'), ('puzzle_emb_ndim', '65537', '22023'), ('puzzle_emb_ndim', '32', '22000'),
    ('expansion', '0', '22023'), ('expansion', '-4', '22023'), ('expansion', '1e9', '22023'), ('expansion', '8', '22000'),
    ('rms_norm_eps', '-1e-5', '22023'), ('rms_norm_eps', '"tiny"', '22023'),
    ('rope_theta', '0', '22023'), ('rope_theta', '-10000', '22023'),
    ('pos_encodings', '"sinusoidal"', '22023'), ('pos_encodings', '3', '22023'), ('pos_encodings', '""', '22023'),
    ('arch', '"transformer"', '22023'), ('arch', '"HRM"', '22023'), ('arch', '""', '22023'), ('arch', '7', '22023'),
    ('arch', 'null', '22023'),
    ('no_such_field', '1', '22023'), ('', '1', '22023'), ('seq-len', '81', '22023')
  ) AS t(k, v, want);
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_import', 'config a JSON array', '22023', $q$SELECT hrm_import('x', s, '[81, 11]') FROM f$q$),
('hrm_import', 'config a JSON string', '22023', $q$SELECT hrm_import('x', s, '"seq_len 81"') FROM f$q$),
('hrm_import', 'config a JSON number', '22023', $q$SELECT hrm_import('x', s, '81') FROM f$q$),
('hrm_import', 'config JSON null', '22023', $q$SELECT hrm_import('x', s, 'null') FROM f$q$),
('hrm_import', 'config empty object (seq_len, vocab_size required)', '22023', $q$SELECT hrm_import('x', s, '{}') FROM f$q$),
('hrm_import', 'config of another model', '22000', $q$SELECT hrm_import('x', s, (SELECT config FROM fx WHERE name = 'gen')) FROM f$q$),
('hrm_import', 'config 1 MB of keys', '22023', $q$SELECT hrm_import('x', s, c || (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 50000) i)) FROM f, cfg$q$),
('hrm_import', 'config learned positions, shape lacks them', '22000', $q$SELECT hrm_import('x', s, c || '{"pos_encodings": "learned"}') FROM f, cfg$q$),
('hrm_import', 'config trm puzzle_emb_len 257', '22023', $q$SELECT hrm_import('x', file, config || '{"puzzle_emb_len": 257}') FROM fx WHERE name = 'trm'$q$),
('hrm_import', 'config trm puzzle_emb_len -1', '22023', $q$SELECT hrm_import('x', file, config || '{"puzzle_emb_len": -1}') FROM fx WHERE name = 'trm'$q$);

-- hrm_export, hrm_drop_model, hrm_rename_model, hrm_grant, hrm_revoke ------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_export', 'unknown model', '42704', $q$SELECT hrm_export('no_such_model')$q$),
('hrm_export', 'name empty', '42704', $q$SELECT hrm_export('')$q$),
('hrm_export', 'name 64 bytes', '42704', $q$SELECT hrm_export(repeat('x', 64))$q$),
('hrm_export', 'name with a control character', '42704', $q$SELECT hrm_export(E'sud\x01')$q$),
('hrm_export', 'name differs in case', '42704', $q$SELECT hrm_export('SUD')$q$),
('hrm_export', 'name with a trailing space', '42704', $q$SELECT hrm_export('sud ')$q$),
('hrm_drop_model', 'unknown model', '42704', $q$SELECT hrm_drop_model('no_such_model')$q$),
('hrm_drop_model', 'name empty', '42704', $q$SELECT hrm_drop_model('')$q$),
('hrm_drop_model', 'name 64 bytes', '42704', $q$SELECT hrm_drop_model(repeat('x', 64))$q$),
('hrm_drop_model', 'LIKE pattern is no wildcard', '42704', $q$SELECT hrm_drop_model('%')$q$),
('hrm_rename_model', 'unknown model', '42704', $q$SELECT hrm_rename_model('no_such_model', 'y')$q$),
('hrm_rename_model', 'onto an existing model', '42710', $q$SELECT hrm_rename_model('sud', 'gen')$q$),
('hrm_rename_model', 'new name empty', '42602', $q$SELECT hrm_rename_model('sud', '')$q$),
('hrm_rename_model', 'new name 64 bytes', '42602', $q$SELECT hrm_rename_model('sud', repeat('y', 64))$q$),
('hrm_rename_model', 'new name with a newline', '42602', $q$SELECT hrm_rename_model('sud', E'y\n')$q$),
('hrm_rename_model', 'name empty', '42704', $q$SELECT hrm_rename_model('', 'y')$q$),
('hrm_grant', 'unknown model', '42704', $q$SELECT hrm_grant('no_such_model', 'regress_hrm_bad_role')$q$),
('hrm_grant', 'unknown role', '42704', $q$SELECT hrm_grant('sud', 'regress_hrm_no_such_role')$q$),
('hrm_grant', 'role empty', '42704', $q$SELECT hrm_grant('sud', '')$q$),
('hrm_grant', 'model empty', '42704', $q$SELECT hrm_grant('', 'regress_hrm_bad_role')$q$),
('hrm_grant', 'role with SQL in it', '42704', $q$SELECT hrm_grant('sud', 'x; DROP TABLE fx')$q$),
('hrm_revoke', 'unknown model', '42704', $q$SELECT hrm_revoke('no_such_model', 'regress_hrm_bad_role')$q$),
('hrm_revoke', 'unknown role', '42704', $q$SELECT hrm_revoke('sud', 'regress_hrm_no_such_role')$q$),
('hrm_revoke', 'model 64 bytes', '42704', $q$SELECT hrm_revoke(repeat('m', 64), 'regress_hrm_bad_role')$q$);

-- hrm_forward ---------------------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_forward', 'unknown model', '42704', $q$SELECT * FROM hrm_forward('no_such_model', array_fill(1, ARRAY[81]))$q$),
('hrm_forward', 'model empty', '42704', $q$SELECT * FROM hrm_forward('', array_fill(1, ARRAY[81]))$q$),
('hrm_forward', 'model NULL', '22004', $q$SELECT * FROM hrm_forward(NULL, array_fill(1, ARRAY[81]))$q$),
('hrm_forward', 'inputs NULL', '22004', $q$SELECT * FROM hrm_forward('sud', NULL)$q$),
('hrm_forward', 'inputs empty', '2202E', $q$SELECT * FROM hrm_forward('sud', '{}')$q$),
('hrm_forward', 'inputs 80 tokens', '2202E', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[80]))$q$),
('hrm_forward', 'inputs 82 tokens', '2202E', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[82]))$q$),
('hrm_forward', 'inputs 1 token', '2202E', $q$SELECT * FROM hrm_forward('sud', ARRAY[1])$q$),
('hrm_forward', 'inputs 100000 tokens', '2202E', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[100000]))$q$),
('hrm_forward', 'inputs 9 x 8', '2202E', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[9, 8]))$q$),
('hrm_forward', 'inputs 81 x 2', '2202E', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81, 2]))$q$),
('hrm_forward', 'a NULL token', '22004', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[80]) || NULL::int)$q$),
('hrm_forward', 'all tokens NULL', '22004', $q$SELECT * FROM hrm_forward('sud', array_fill(NULL::int, ARRAY[81]))$q$),
('hrm_forward', 'token -1', '22003', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[80]) || -1)$q$),
('hrm_forward', 'token 11 (vocab 11)', '22003', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[80]) || 11)$q$),
('hrm_forward', 'token INT_MAX', '22003', $q$SELECT * FROM hrm_forward('sud', 2147483647 || array_fill(1, ARRAY[80]))$q$),
('hrm_forward', 'token INT_MIN', '22003', $q$SELECT * FROM hrm_forward('sud', (-2147483648) || array_fill(1, ARRAY[80]))$q$),
('hrm_forward', 'puzzle_id -1', '22003', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), -1)$q$),
('hrm_forward', 'puzzle_id 1 (one identifier)', '22003', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), 1)$q$),
('hrm_forward', 'puzzle_id 7 (seven identifiers)', '22003', $q$SELECT * FROM hrm_forward('gen', array_fill(1, ARRAY[100]), 7)$q$),
('hrm_forward', 'puzzle_id INT_MAX', '22003', $q$SELECT * FROM hrm_forward('gen', array_fill(1, ARRAY[100]), 2147483647)$q$),
('hrm_forward', 'puzzle_id INT_MIN', '22003', $q$SELECT * FROM hrm_forward('gen', array_fill(1, ARRAY[100]), -2147483648)$q$),
('hrm_forward', 'puzzle_id NULL', '22004', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), NULL)$q$),
('hrm_forward', 'segments 0', '22023', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), 0, 0)$q$),
('hrm_forward', 'segments -1', '22023', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), 0, -1)$q$),
('hrm_forward', 'segments 65537', '22023', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), 0, 65537)$q$),
('hrm_forward', 'segments INT_MAX', '22023', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), 0, 2147483647)$q$),
('hrm_forward', 'segments INT_MIN', '22023', $q$SELECT * FROM hrm_forward('sud', array_fill(1, ARRAY[81]), 0, -2147483648)$q$),
('hrm_forward', 'a maze model, Sudoku length', '2202E', $q$SELECT * FROM hrm_forward('maze', array_fill(1, ARRAY[81]))$q$),
('hrm_forward', 'trm: token 11', '22003', $q$SELECT * FROM hrm_forward('trm', array_fill(11, ARRAY[81]))$q$);

-- hrm_solve / hrm_solve_detail / hrm_trace: grids --------------------------
INSERT INTO cases (entry, label, want, q)
SELECT fn, label, want, format(tmpl, fn)
  FROM (VALUES ('hrm_solve'), ('hrm_solve_detail'), ('hrm_trace')) AS e(fn),
       (VALUES
        ('sudoku text 80 cells', '22P02', $q$SELECT * FROM %s('sud', repeat('.', 80))$q$),
        ('sudoku text 82 cells', '22P02', $q$SELECT * FROM %s('sud', repeat('.', 82))$q$),
        ('sudoku text empty', '22P02', $q$SELECT * FROM %s('sud', '')$q$),
        ('sudoku text only whitespace', '22P02', $q$SELECT * FROM %s('sud', E' \n\t ')$q$),
        ('sudoku text a letter', '22P02', $q$SELECT * FROM %s('sud', 'x' || repeat('.', 80))$q$),
        ('sudoku text a minus sign', '22P02', $q$SELECT * FROM %s('sud', '-1' || repeat('.', 79))$q$),
        ('sudoku text non-ASCII digit', '22P02', $q$SELECT * FROM %s('sud', '٣' || repeat('.', 80))$q$),
        ('sudoku text 1 MB', '22P02', $q$SELECT * FROM %s('sud', repeat('.', 1048576))$q$),
        ('sudoku text a maze', '42809', $q$SELECT * FROM %s('sud', (SELECT m FROM mz))$q$),
        ('maze text a Sudoku', '42809', $q$SELECT * FROM %s('maze', (SELECT p FROM g))$q$),
        ('maze text without S', '22P02', $q$SELECT * FROM %s('maze', (SELECT replace(m, 'S', ' ') FROM mz))$q$),
        ('maze text without G', '22P02', $q$SELECT * FROM %s('maze', (SELECT replace(m, 'G', ' ') FROM mz))$q$),
        ('maze text two S', '22P02', $q$SELECT * FROM %s('maze', (SELECT regexp_replace(m, ' ', 'S') FROM mz))$q$),
        ('maze text a bad character', '22P02', $q$SELECT * FROM %s('maze', (SELECT regexp_replace(m, ' ', 'x') FROM mz))$q$),
        ('maze text ragged rows', '22P02', $q$SELECT * FROM %s('maze', (SELECT regexp_replace(m, E'\n', E' \n') FROM mz))$q$),
        ('maze text 31 x 31', '22P02', $q$SELECT * FROM %s('maze', 'S' || repeat(' ', 959) || 'G')$q$),
        ('maze text empty', '22P02', $q$SELECT * FROM %s('maze', '')$q$),
        ('text grid for a token model', '42809', $q$SELECT * FROM %s('gen', (SELECT p FROM g))$q$),
        ('sudoku int[80]', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[80]))$q$),
        ('sudoku int[82]', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[82]))$q$),
        ('sudoku int[9][8]', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[9, 8]))$q$),
        ('sudoku int[3][27]', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[3, 27]))$q$),
        ('sudoku int[9][9][1]', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[9, 9, 1]))$q$),
        ('sudoku int[] empty', '22023', $q$SELECT * FROM %s('sud', '{}'::int[])$q$),
        ('sudoku a cell 10', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[80]) || 10)$q$),
        ('sudoku a cell -1', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[80]) || -1)$q$),
        ('sudoku a cell INT_MAX', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[80]) || 2147483647)$q$),
        ('sudoku a cell INT_MIN', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[80]) || -2147483648)$q$),
        ('sudoku a NULL cell', '22004', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[80]) || NULL::int)$q$),
        ('maze tokens 899', '22023', $q$SELECT * FROM %s('maze', array_fill(1, ARRAY[899]))$q$),
        ('maze token 6', '22023', $q$SELECT * FROM %s('maze', array_fill(1, ARRAY[899]) || 6)$q$),
        ('arc grid 31 x 31', '22023', $q$SELECT * FROM %s('arc', array_fill(0, ARRAY[31, 31]))$q$),
        ('arc grid colour 10', '22023', $q$SELECT * FROM %s('arc', ARRAY[[1, 2], [3, 10]])$q$),
        ('arc grid colour -1', '22023', $q$SELECT * FROM %s('arc', ARRAY[[1, 2], [3, -1]])$q$),
        ('arc grid 3-D', '22023', $q$SELECT * FROM %s('arc', array_fill(0, ARRAY[2, 2, 2]))$q$),
        ('arc grid empty', '22023', $q$SELECT * FROM %s('arc', '{}'::int[])$q$),
        ('token model 99 tokens', '22023', $q$SELECT * FROM %s('gen', array_fill(1, ARRAY[99]))$q$),
        ('token model token 12', '22023', $q$SELECT * FROM %s('gen', array_fill(1, ARRAY[99]) || 12)$q$),
        ('unknown model', '42704', $q$SELECT * FROM %s('no_such_model', array_fill(0, ARRAY[81]))$q$),
        ('model empty', '42704', $q$SELECT * FROM %s('', array_fill(0, ARRAY[81]))$q$),
        ('max_steps -1', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), -1)$q$),
        ('max_steps INT_MIN', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), -2147483648)$q$),
        ('max_steps 65537', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 65537)$q$),
        ('max_steps INT_MAX', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 2147483647)$q$),
        ('halt unknown', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 0, 'sometimes')$q$),
        ('halt upper case', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 0, 'FIXED')$q$)
       ) AS c(label, want, tmpl);
-- views (hrm_solve and hrm_solve_detail)
INSERT INTO cases (entry, label, want, q)
SELECT fn, label, want, format(tmpl, fn)
  FROM (VALUES ('hrm_solve'), ('hrm_solve_detail')) AS e(fn),
       (VALUES
        ('views 0', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 0, 'fixed', 0)$q$),
        ('views -1', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 0, 'fixed', -1)$q$),
        ('views 65 (Sudoku)', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 0, 'fixed', 65)$q$),
        ('views 9 (maze)', '22023', $q$SELECT * FROM %s('maze', (SELECT m FROM mz), 0, 'fixed', 9)$q$),
        ('views INT_MAX', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 0, 'fixed', 2147483647)$q$),
        ('views INT_MIN', '22023', $q$SELECT * FROM %s('sud', array_fill(0, ARRAY[81]), 0, 'fixed', -2147483648)$q$),
        ('views 2 on a token model', '22023', $q$SELECT * FROM %s('gen', array_fill(1, ARRAY[100]), 0, 'fixed', 2)$q$)
       ) AS c(label, want, tmpl);
-- without a model: hrm.default_model unset, or naming no model
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_solve', 'no model, default_model unset', '55000', $q$SELECT hrm_solve((SELECT p FROM g))$q$),
('hrm_solve_detail', 'no model, default_model unset', '55000', $q$SELECT * FROM hrm_solve_detail((SELECT t FROM g))$q$),
('hrm_trace', 'no model, default_model unset', '55000', $q$SELECT * FROM hrm_trace((SELECT p FROM g))$q$),
('hrm_solve', 'default_model names no model', '42704', $q$SET LOCAL hrm.default_model = 'no_such_model'; SELECT hrm_solve((SELECT p FROM g))$q$),
('hrm_solve_task', 'unknown model', '42704', $q$SELECT hrm_solve_task('no_such_model')$q$),
('hrm_solve_task', 'model empty', '42704', $q$SELECT hrm_solve_task('')$q$),
('hrm_solve_task', 'model 64 bytes', '42704', $q$SELECT hrm_solve_task(repeat('x', 64))$q$);

-- hrm_solve_batch ----------------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_solve_batch', 'text[] one bad grid', '22P02', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT p FROM g), 'xyz'])$q$),
('hrm_solve_batch', 'text[] a NULL grid', '22004', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT p FROM g), NULL])$q$),
('hrm_solve_batch', 'text[] 2-D', '22023', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[[(SELECT p FROM g)], [(SELECT p FROM g)]])$q$),
('hrm_solve_batch', 'text[] a maze for a Sudoku model', '42809', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT m FROM mz)])$q$),
('hrm_solve_batch', 'text[] for a token model', '42809', $q$SELECT * FROM hrm_solve_batch('gen', ARRAY['abc'])$q$),
('hrm_solve_batch', 'int[] 1-D', '22023', $q$SELECT * FROM hrm_solve_batch('sud', array_fill(0, ARRAY[81]))$q$),
('hrm_solve_batch', 'int[2][80]', '22023', $q$SELECT * FROM hrm_solve_batch('sud', array_fill(0, ARRAY[2, 80]))$q$),
('hrm_solve_batch', 'int[2][9][8]', '22023', $q$SELECT * FROM hrm_solve_batch('sud', array_fill(0, ARRAY[2, 9, 8]))$q$),
('hrm_solve_batch', 'int[][] a cell 10', '22023', $q$SELECT * FROM hrm_solve_batch('sud', array_fill(10, ARRAY[2, 81]))$q$),
('hrm_solve_batch', 'int[][] a NULL cell', '22004', $q$SELECT * FROM hrm_solve_batch('sud', array_fill(NULL::int, ARRAY[2, 81]))$q$),
('hrm_solve_batch', 'int[][] token models 101 tokens', '22023', $q$SELECT * FROM hrm_solve_batch('gen', array_fill(1, ARRAY[2, 101]))$q$),
('hrm_solve_batch', 'int[][] 100000 grids of 1 cell', '22023', $q$SELECT * FROM hrm_solve_batch('sud', array_fill(0, ARRAY[100000, 1]))$q$),
('hrm_solve_batch', 'query: no such table', '42P01', $q$SELECT * FROM hrm_solve_batch('sud', 'no_such_table')$q$),
('hrm_solve_batch', 'query: syntax error', '42601', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT FROM WHERE')$q$),
('hrm_solve_batch', 'query: empty', '42602', $q$SELECT * FROM hrm_solve_batch('sud', '')$q$),
('hrm_solve_batch', 'query: one column', '42804', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT p FROM g')$q$),
('hrm_solve_batch', 'query: id a boolean', '42804', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT true, p FROM g')$q$),
('hrm_solve_batch', 'query: puzzle a float', '42804', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT 1, 1.5::float8')$q$),
('hrm_solve_batch', 'query: puzzle a float[]', '42804', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT 1, ARRAY[1.5]::float8[]')$q$),
('hrm_solve_batch', 'query: NULL puzzle', '22004', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT 1, NULL::text')$q$),
('hrm_solve_batch', 'query: a bad grid', '22P02', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT 1, ''123''')$q$),
('hrm_solve_batch', 'query: INSERT ... RETURNING', '42809', $q$SELECT * FROM hrm_solve_batch('sud', 'INSERT INTO src_log VALUES (''x'') RETURNING 1, x')$q$),
('hrm_solve_batch', 'query: a writing CTE', '42809', $q$SELECT * FROM hrm_solve_batch('sud', 'WITH w AS (DELETE FROM src_log RETURNING 1) SELECT 1, p FROM g')$q$),
('hrm_solve_batch', 'query: a writing function', '25006', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT 1, p FROM g WHERE src_writes()')$q$),
('hrm_solve_batch', 'query: nextval', '25006', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT nextval(''src_seq''), p FROM g')$q$),
('hrm_solve_batch', 'query: DDL', '42809', $q$SELECT * FROM hrm_solve_batch('sud', 'CREATE TABLE t_x (a int)')$q$),
('hrm_solve_batch', 'query: two statements', '42P11', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT 1, p FROM g; SELECT 2, p FROM g')$q$),
('hrm_solve_batch', 'query: FOR UPDATE', '42809', $q$SELECT * FROM hrm_solve_batch('sud', 'SELECT 1, p FROM g FOR UPDATE')$q$),
('hrm_solve_batch', 'views 0', '22023', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT p FROM g)], 0, 'fixed', 0)$q$),
('hrm_solve_batch', 'views 65', '22023', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT p FROM g)], 0, 'fixed', 65)$q$),
('hrm_solve_batch', 'max_steps -5', '22023', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT p FROM g)], -5)$q$),
('hrm_solve_batch', 'halt unknown', '22023', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT p FROM g)], 0, 'never')$q$),
('hrm_solve_batch', 'unknown model', '42704', $q$SELECT * FROM hrm_solve_batch('no_such_model', ARRAY[(SELECT p FROM g)])$q$);

-- hrm_train / hrm_evaluate: sources and options ------------------------------
INSERT INTO cases (entry, label, want, q)
SELECT fn, label, want, format(tmpl, fn, CASE fn WHEN 'hrm_train' THEN 'new_model' ELSE 'sudt' END)
  FROM (VALUES ('hrm_train'), ('hrm_evaluate')) AS e(fn),
       (VALUES
        ('source: no such table', '42P01', $q$SELECT %s(%L, 'no_such_table')$q$),
        ('source: schema-qualified, no such schema', '42P01', $q$SELECT %s(%L, 'no_such_schema.t')$q$),
        ('source: syntax error', '42601', $q$SELECT %s(%L, 'SELECT FROM WHERE')$q$),
        ('source: empty', '42602', $q$SELECT %s(%L, '')$q$),
        ('source: NULL', '22004', $q$SELECT %s(%L, NULL)$q$),
        ('source: one column', '42P10', $q$SELECT %s(%L, 'SELECT input FROM src_sud')$q$),
        ('source: boolean columns', '42804', $q$SELECT %s(%L, 'SELECT flag, flag FROM src_types')$q$),
        ('source: float columns', '42804', $q$SELECT %s(%L, 'SELECT x, x FROM src_types')$q$),
        ('source: input column missing', '42703', $q$SELECT %s(%L, 'src_types', '{"input": "nope"}')$q$),
        ('source: target column missing', '42703', $q$SELECT %s(%L, 'src_sud', '{"target": "nope"}')$q$),
        ('source: puzzle_id column missing', '42703', $q$SELECT %s(%L, 'src_sud', '{"puzzle_id": "nope"}')$q$),
        ('source: puzzle_id a text column', '42804', $q$SELECT %s(%L, 'src_types', '{"puzzle_id": "input", "input": "input", "target": "target"}')$q$),
        ('source: no rows', '22000', $q$SELECT %s(%L, 'SELECT * FROM src_sud WHERE false')$q$),
        ('source: a NULL input', '22004', $q$SELECT %s(%L, 'SELECT NULL::text, target FROM src_sud')$q$),
        ('source: a bad grid', '22P02', $q$SELECT %s(%L, 'SELECT ''123'', target FROM src_sud')$q$),
        ('source: a negative token', '22003', $q$SELECT %s(%L, 'SELECT array_fill(-5, ARRAY[81]), array_fill(1, ARRAY[81])')$q$),
        ('source: INSERT ... RETURNING', '42809', $q$SELECT %s(%L, 'INSERT INTO src_log VALUES (''x'') RETURNING x, x')$q$),
        ('source: a writing CTE', '42809', $q$SELECT %s(%L, 'WITH d AS (DELETE FROM src_log RETURNING x) SELECT input, target FROM src_sud')$q$),
        ('source: UPDATE', '42809', $q$SELECT %s(%L, 'UPDATE src_log SET x = x RETURNING x, x')$q$),
        ('source: FOR UPDATE', '42809', $q$SELECT %s(%L, 'SELECT input, target FROM src_sud FOR UPDATE')$q$),
        ('source: a writing function', '25006', $q$SELECT %s(%L, 'SELECT input, target FROM src_sud WHERE src_writes()')$q$),
        ('source: nextval', '25006', $q$SELECT %s(%L, 'SELECT input, target FROM src_sud WHERE nextval(''src_seq'') > 0')$q$),
        ('source: DDL', '42809', $q$SELECT %s(%L, 'CREATE TABLE t_y AS SELECT * FROM src_sud')$q$),
        ('source: two statements', '42P11', $q$SELECT %s(%L, 'SELECT input, target FROM src_sud; SELECT 1, 2')$q$),
        ('options: unknown key', '22023', $q$SELECT %s(%L, 'src_sud', '{"no_such_option": 1}')$q$),
        ('options: a JSON array', '22023', $q$SELECT %s(%L, 'src_sud', '[1, 2]')$q$),
        ('options: a JSON string', '22023', $q$SELECT %s(%L, 'src_sud', '"steps"')$q$),
        ('options: JSON null', '22023', $q$SELECT %s(%L, 'src_sud', 'null')$q$),
        ('options: views 0', '22023', $q$SELECT %s(%L, 'src_sud', '{"views": 0}')$q$),
        ('options: threads 0', '22023', $q$SELECT %s(%L, 'src_sud', '{"threads": 0}')$q$),
        ('options: threads 65', '22023', $q$SELECT %s(%L, 'src_sud', '{"threads": 65}')$q$),
        ('options: threads a string', '22023', $q$SELECT %s(%L, 'src_sud', '{"threads": "two"}')$q$),
        ('options: input column a number', '22023', $q$SELECT %s(%L, 'src_sud', '{"input": 1}')$q$),
        ('options: task unknown', '22023', $q$SELECT %s(%L, 'src_sud', '{"task": "chess"}')$q$)
       ) AS c(label, want, tmpl);
-- options of hrm_train only
INSERT INTO cases (entry, label, want, q)
SELECT 'hrm_train', 'options: ' || o, want,
       format($q$SELECT hrm_train('new_model', 'src_sud', %L::jsonb || '{"steps": 1, "threads": 1, "hidden_size": 16, "num_heads": 1}' || %L::jsonb)$q$, '{}', o)
  FROM (VALUES
    ('{"steps": -1}', '22023'), ('{"steps": 0.5}', '22023'), ('{"steps": "10"}', '22023'),
    ('{"steps": 1e30}', '22023'), ('{"epochs": -1}', '22023'), ('{"max_minutes": -1}', '22023'),
    ('{"max_minutes": "ten"}', '22023'),
    ('{"lr": -0.001}', '22023'), ('{"lr": "fast"}', '22023'),
    ('{"lr_warmup_steps": -1}', '22023'), ('{"lr_min_ratio": 2}', '22023'),
    ('{"beta1": 1.5}', '22023'), ('{"beta2": -0.5}', '22023'), ('{"weight_decay": -1}', '22023'),
    ('{"batch_size": 0}', '22023'), ('{"batch_size": -16}', '22023'), ('{"batch_size": 2147483648}', '22023'),
    ('{"batch_size": 1000000}', '22023'),
    ('{"ema": 1.5}', '22023'), ('{"ema": -0.1}', '22023'), ('{"seed": -1}', '22023'), ('{"seed": "x"}', '22023'),
    ('{"loss_type": "mse"}', '22023'), ('{"augment": 1}', '22023'), ('{"augment": "yes"}', '22023'),
    ('{"curriculum_start": 2}', '22023'), ('{"ignore_givens": 1.5}', '22023'),
    ('{"eval_fraction": 1}', '22023'), ('{"eval_fraction": -0.5}', '22023'), ('{"eval_rows": -1}', '22023'),
    ('{"eval_source": "no_such_table"}', '42P01'), ('{"eval_source": 5}', '22023'),
    ('{"checkpoint_every": "2 fortnights"}', '22023'), ('{"checkpoint_every": -1}', '22023'),
    ('{"checkpoint_every": "-5min"}', '22023'), ('{"log_every": "soon"}', '22023'),
    ('{"keep": -1}', '22023'), ('{"progress": -1}', '22023'), ('{"wait": "no"}', '22023'),
    ('{"resume": true}', '55000'), ('{"resume": "yes"}', '22023'),
    ('{"hidden_size": 30, "num_heads": 4}', '22023'), ('{"hidden_size": 0}', '22023'),
    ('{"hidden_size": 100000}', '22023'), ('{"num_heads": 0}', '22023'), ('{"H_layers": 100}', '22023'),
    ('{"L_cycles": 0}', '22023'), ('{"halt_max_steps": 0}', '22023'), ('{"halt_exploration_prob": 2}', '22023'),
    ('{"pos_encodings": "alibi"}', '22023'), ('{"attn_mask": "diagonal"}', '22023'), ('{"expansion": 0}', '22023'),
    ('{"puzzle_emb_ndim": -1}', '22023'), ('{"vocab_size": 1}', '22023'), ('{"vocab_size": 100000}', '22023'),
    ('{"task": "maze"}', '22P02')
  ) AS t(o, want);
-- on an existing model
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_train', 'existing model: another architecture', '22023', $q$SELECT hrm_train('sud', 'src_sud', '{"hidden_size": 32, "steps": 1}')$q$),
('hrm_train', 'existing model: another task', '22023', $q$SELECT hrm_train('sud', 'src_sud', '{"task": "maze", "steps": 1}')$q$),
('hrm_train', 'existing model: data of another length', '22000', $q$SELECT hrm_train('gen', 'SELECT array_fill(1, ARRAY[81]), array_fill(1, ARRAY[81])', '{"steps": 1}')$q$),
('hrm_train', 'existing model: no checkpoint to resume', '55000', $q$SELECT hrm_train('sud', 'src_sud', '{"resume": true, "steps": 1}')$q$),
('hrm_train', 'existing model: puzzle ids past the model', '22003', $q$SELECT hrm_train('gen', 'SELECT array_fill(1, ARRAY[100]), array_fill(1, ARRAY[100]), 7', '{"puzzle_id": "?column?", "steps": 1}')$q$),
('hrm_train', 'model name empty', '42602', $q$SELECT hrm_train('', 'src_sud', '{"steps": 1}')$q$),
('hrm_train', 'model name 64 bytes', '42602', $q$SELECT hrm_train(repeat('m', 64), 'src_sud', '{"steps": 1}')$q$),
('hrm_train', 'model name with a control character', '42602', $q$SELECT hrm_train(E'm\x02', 'src_sud', '{"steps": 1}')$q$),
('hrm_train', 'model NULL', '22004', $q$SELECT hrm_train(NULL, 'src_sud', '{"steps": 1}')$q$),
('hrm_train', 'table form: bad columns', '42804', $q$SET LOCAL hrm.default_model = 'new_model'; SELECT hrm_train('src_types'::regclass)$q$),
('hrm_train', 'table form: no such table', '42P01', $q$SELECT hrm_train('no_such_table'::regclass)$q$),
('hrm_evaluate', 'source: a token out of range', '22003', $q$SELECT hrm_evaluate('sud', 'SELECT array_fill(11, ARRAY[81]), array_fill(1, ARRAY[81])')$q$),
('hrm_train', 'source: a token out of range (existing model)', '22003', $q$SELECT hrm_train('sud', 'SELECT array_fill(11, ARRAY[81]), array_fill(1, ARRAY[81])', '{"steps": 1}')$q$),
('hrm_train', 'source: a token past any vocabulary (new model)', '22003', $q$SELECT hrm_train('new_model', 'SELECT array_fill(70000, ARRAY[81]), array_fill(1, ARRAY[81])', '{"steps": 1}')$q$),
('hrm_train', 'source: a token INT_MAX (new model)', '22003', $q$SELECT hrm_train('new_model', 'SELECT array_fill(2147483647, ARRAY[81]), array_fill(1, ARRAY[81])', '{"steps": 1}')$q$),
('hrm_evaluate', 'unknown model', '42704', $q$SELECT hrm_evaluate('no_such_model', 'src_sud')$q$),
('hrm_evaluate', 'model empty', '42704', $q$SELECT hrm_evaluate('', 'src_sud')$q$),
('hrm_evaluate', 'a training option', '22023', $q$SELECT hrm_evaluate('sudt', 'src_sud', '{"steps": 10}')$q$),
('hrm_evaluate', 'views 65', '22023', $q$SELECT hrm_evaluate('sudt', 'src_sud', '{"views": 65}')$q$),
('hrm_evaluate', 'data of another task', '22P02', $q$SELECT hrm_evaluate('sudt', 'SELECT m, sol FROM mz')$q$),
('hrm_evaluate', 'data of another length', '22000', $q$SELECT hrm_evaluate('gen', 'SELECT array_fill(1, ARRAY[81]), array_fill(1, ARRAY[81])')$q$),
('hrm_wait', 'unknown job', '42704', $q$SELECT hrm_wait(123456789)$q$),
('hrm_wait', 'job 0', '42704', $q$SELECT hrm_wait(0)$q$),
('hrm_wait', 'job -1', '42704', $q$SELECT hrm_wait(-1)$q$),
('hrm_wait', 'job INT64_MAX', '42704', $q$SELECT hrm_wait(9223372036854775807)$q$),
('hrm_cancel', 'unknown job', '42704', $q$SELECT hrm_cancel(123456789)$q$),
('hrm_cancel', 'job -1', '42704', $q$SELECT hrm_cancel(-1)$q$),
('hrm_cancel', 'job INT64_MIN', '42704', $q$SELECT hrm_cancel(-9223372036854775808)$q$);

-- settings --------------------------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('settings', 'hrm.threads 0', '22023', $q$SET hrm.threads = 0$q$),
('settings', 'hrm.threads 65', '22023', $q$SET hrm.threads = 65$q$),
('settings', 'hrm.threads -1', '22023', $q$SET hrm.threads = -1$q$),
('settings', 'hrm.threads a word', '22023', $q$SET hrm.threads = 'many'$q$),
('settings', 'hrm.threads 2^31', '22023', $q$SET hrm.threads = 2147483648$q$),
('settings', 'hrm.max_memory 1MB', '22023', $q$SET hrm.max_memory = '1MB'$q$),
('settings', 'hrm.max_memory -1', '22023', $q$SET hrm.max_memory = -1$q$),
('settings', 'hrm.max_memory 2PB', '22023', $q$SET hrm.max_memory = '2PB'$q$),
('settings', 'hrm.max_memory a word', '22023', $q$SET hrm.max_memory = 'lots'$q$),
('settings', 'hrm.default_halt unknown', '22023', $q$SET hrm.default_halt = 'sometimes'$q$),
('settings', 'hrm.default_max_steps -1', '22023', $q$SET hrm.default_max_steps = -1$q$),
('settings', 'hrm.default_max_steps 2^31', '22023', $q$SET hrm.default_max_steps = 2147483648$q$),
('settings', 'hrm.max_threads 0', '22023', $q$SET hrm.max_threads = 0$q$),
('settings', 'hrm.max_training_jobs 17', '22023', $q$SET hrm.max_training_jobs = 17$q$),
('settings', 'hrm.max_training_jobs_per_role -1', '22023', $q$SET hrm.max_training_jobs_per_role = -1$q$),
('settings', 'hrm.max_training_data 0', '22023', $q$SET hrm.max_training_data = 0$q$);

-- task codecs: Sudoku -----------------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_sudoku_encode', '80 cells', '22026', $q$SELECT hrm_sudoku_encode(repeat('.', 80))$q$),
('hrm_sudoku_encode', '82 cells', '22026', $q$SELECT hrm_sudoku_encode(repeat('.', 82))$q$),
('hrm_sudoku_encode', 'empty', '22026', $q$SELECT hrm_sudoku_encode('')$q$),
('hrm_sudoku_encode', 'a letter', '22P02', $q$SELECT hrm_sudoku_encode('a' || repeat('.', 80))$q$),
('hrm_sudoku_encode', 'a plus sign', '22P02', $q$SELECT hrm_sudoku_encode('+' || repeat('.', 80))$q$),
('hrm_sudoku_encode', 'a multibyte character', '22P02', $q$SELECT hrm_sudoku_encode('é' || repeat('.', 80))$q$),
('hrm_sudoku_encode', '10 MB', '22026', $q$SELECT hrm_sudoku_encode(repeat('1', 10485760))$q$),
('hrm_sudoku_decode', '80 tokens', '2202E', $q$SELECT hrm_sudoku_decode(array_fill(1, ARRAY[80]))$q$),
('hrm_sudoku_decode', 'empty', '2202E', $q$SELECT hrm_sudoku_decode('{}')$q$),
('hrm_sudoku_decode', 'token 11', '22P03', $q$SELECT hrm_sudoku_decode(array_fill(1, ARRAY[80]) || 11)$q$),
('hrm_sudoku_decode', 'token -1', '22P03', $q$SELECT hrm_sudoku_decode(array_fill(1, ARRAY[80]) || -1)$q$),
('hrm_sudoku_decode', 'token INT_MIN', '22P03', $q$SELECT hrm_sudoku_decode(array_fill(1, ARRAY[80]) || -2147483648)$q$),
('hrm_sudoku_decode', 'a NULL token', '22004', $q$SELECT hrm_sudoku_decode(array_fill(1, ARRAY[80]) || NULL::int)$q$),
('hrm_sudoku_solve_exact', 'bad grid', '22026', $q$SELECT hrm_sudoku_solve_exact('123')$q$),
('hrm_sudoku_solve_exact', 'a letter', '22P02', $q$SELECT hrm_sudoku_solve_exact('z' || repeat('.', 80))$q$),
('hrm_sudoku_count_solutions', 'bad grid', '22026', $q$SELECT hrm_sudoku_count_solutions(repeat('.', 79))$q$),
('hrm_sudoku_count_solutions', 'max 0', '22023', $q$SELECT hrm_sudoku_count_solutions(repeat('.', 81), 0)$q$),
('hrm_sudoku_count_solutions', 'max -1', '22023', $q$SELECT hrm_sudoku_count_solutions(repeat('.', 81), -1)$q$),
('hrm_sudoku_count_solutions', 'max INT_MIN', '22023', $q$SELECT hrm_sudoku_count_solutions(repeat('.', 81), -2147483648)$q$),
('hrm_sudoku_check', 'puzzle bad', '22026', $q$SELECT hrm_sudoku_check('1', (SELECT sol FROM g))$q$),
('hrm_sudoku_check', 'answer bad', '22P02', $q$SELECT hrm_sudoku_check((SELECT p FROM g), 'x')$q$),
('hrm_sudoku_generate', 'n -1', '22023', $q$SELECT * FROM hrm_sudoku_generate(-1, 20, 1)$q$),
('hrm_sudoku_generate', 'n INT_MIN', '22023', $q$SELECT * FROM hrm_sudoku_generate(-2147483648, 20, 1)$q$),
('hrm_sudoku_generate', 'blanks -1', '22023', $q$SELECT * FROM hrm_sudoku_generate(1, -1, 1)$q$),
('hrm_sudoku_generate', 'blanks 82', '22023', $q$SELECT * FROM hrm_sudoku_generate(1, 82, 1)$q$),
('hrm_sudoku_generate', 'blanks INT_MAX', '22023', $q$SELECT * FROM hrm_sudoku_generate(1, 2147483647, 1)$q$),
('hrm_sudoku_generate', 'min_blanks > max_blanks', '22023', $q$SELECT * FROM hrm_sudoku_generate(1, 40, 30, 1)$q$),
('hrm_sudoku_generate', 'max_blanks 100', '22023', $q$SELECT * FROM hrm_sudoku_generate(1, 30, 100, 1)$q$),
('hrm_sudoku_generate', 'min_blanks -5', '22023', $q$SELECT * FROM hrm_sudoku_generate(1, -5, 30, 1)$q$),
('hrm_sudoku_augment', 'puzzle bad', '22026', $q$SELECT * FROM hrm_sudoku_augment('12', (SELECT sol FROM g), 1)$q$),
('hrm_sudoku_augment', 'solution bad', '22026', $q$SELECT * FROM hrm_sudoku_augment((SELECT p FROM g), '12', 1)$q$),
('hrm_sudoku_augment_inverse', 'grid bad', '22026', $q$SELECT hrm_sudoku_augment_inverse('...', 1)$q$);

-- task codecs: mazes --------------------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_maze_encode', 'empty', '22P02', $q$SELECT hrm_maze_encode('')$q$),
('hrm_maze_encode', 'a bad character', '22P02', $q$SELECT hrm_maze_encode(E'S x\n  G')$q$),
('hrm_maze_encode', 'ragged rows', '22P02', $q$SELECT hrm_maze_encode(E'S  \n G')$q$),
('hrm_maze_encode', '31 columns', '54000', $q$SELECT hrm_maze_encode('S' || repeat(' ', 29) || 'G')$q$),
('hrm_maze_encode', '31 rows', '54000', $q$SELECT hrm_maze_encode('S' || repeat(E'\n ', 29) || E'\nG')$q$),
('hrm_maze_encode', 'only newlines', '22P02', $q$SELECT hrm_maze_encode(E'\n\n\n')$q$),
('hrm_maze_encode', '10 MB', '54000', $q$SELECT hrm_maze_encode(repeat('#', 10485760))$q$),
('hrm_maze_decode', '899 tokens', '2202E', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[899]))$q$),
('hrm_maze_decode', 'token 6', '22P03', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[899]) || 6)$q$),
('hrm_maze_decode', 'token -1', '22P03', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[899]) || -1)$q$),
('hrm_maze_decode', 'a NULL token', '22004', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[899]) || NULL::int)$q$),
('hrm_maze_decode', 'size 0', '22023', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[900]), 0)$q$),
('hrm_maze_decode', 'size 31', '22023', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[900]), 31)$q$),
('hrm_maze_decode', 'size -30', '22023', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[900]), -30)$q$),
('hrm_maze_decode', 'size INT_MAX', '22023', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[900]), 2147483647)$q$),
('hrm_maze_decode', 'size INT_MIN', '22023', $q$SELECT hrm_maze_decode(array_fill(1, ARRAY[900]), -2147483648)$q$),
('hrm_maze_solve', 'no S', '22023', $q$SELECT hrm_maze_solve(E'   \n  G')$q$),
('hrm_maze_solve', 'two G', '22023', $q$SELECT hrm_maze_solve(E'S G\n  G')$q$),
('hrm_maze_path_length', 'bad character', '22P02', $q$SELECT hrm_maze_path_length(E'S?\n G')$q$),
('hrm_maze_check', 'maze bad', '22P02', $q$SELECT hrm_maze_check('x', (SELECT sol FROM mz))$q$),
('hrm_maze_generate', 'n -1', '22023', $q$SELECT * FROM hrm_maze_generate(-1, 10, 1, 1)$q$),
('hrm_maze_generate', 'size 0', '22023', $q$SELECT * FROM hrm_maze_generate(1, 0, 1, 1)$q$),
('hrm_maze_generate', 'size 31', '22023', $q$SELECT * FROM hrm_maze_generate(1, 31, 1, 1)$q$),
('hrm_maze_generate', 'size INT_MIN', '22023', $q$SELECT * FROM hrm_maze_generate(1, -2147483648, 1, 1)$q$),
('hrm_maze_generate', 'min_path_length -1', '22023', $q$SELECT * FROM hrm_maze_generate(1, 10, -1, 1)$q$),
('hrm_maze_generate', 'min_path_length beyond the grid', '22023', $q$SELECT * FROM hrm_maze_generate(1, 10, 101, 1)$q$),
('hrm_maze_generate', 'min_path_length INT_MAX', '22023', $q$SELECT * FROM hrm_maze_generate(1, 10, 2147483647, 1)$q$),
('hrm_maze_transform', 'tid -1', '22023', $q$SELECT hrm_maze_transform((SELECT m FROM mz), -1)$q$),
('hrm_maze_transform', 'tid 8', '22023', $q$SELECT hrm_maze_transform((SELECT m FROM mz), 8)$q$),
('hrm_maze_transform', 'tid INT_MIN', '22023', $q$SELECT hrm_maze_transform((SELECT m FROM mz), -2147483648)$q$),
('hrm_maze_transform', 'maze bad', '22P02', $q$SELECT hrm_maze_transform('S?G', 1)$q$),
('hrm_maze_transform_inverse', 'tid 8', '22023', $q$SELECT hrm_maze_transform_inverse((SELECT m FROM mz), 8)$q$),
('hrm_maze_transform_inverse', 'tid INT_MAX', '22023', $q$SELECT hrm_maze_transform_inverse((SELECT m FROM mz), 2147483647)$q$);

-- task codecs: grids and ARC ---------------------------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_grid_transform', 'tid -1', '22023', $q$SELECT hrm_grid_transform(ARRAY[[1, 2], [3, 4]], -1)$q$),
('hrm_grid_transform', 'tid 8', '22023', $q$SELECT hrm_grid_transform(ARRAY[[1, 2], [3, 4]], 8)$q$),
('hrm_grid_transform', 'tid INT_MIN', '22023', $q$SELECT hrm_grid_transform(ARRAY[[1, 2], [3, 4]], -2147483648)$q$),
('hrm_grid_transform', '1-D grid', '2202E', $q$SELECT hrm_grid_transform(ARRAY[1, 2, 3], 1)$q$),
('hrm_grid_transform', '3-D grid', '2202E', $q$SELECT hrm_grid_transform(array_fill(1, ARRAY[2, 2, 2]), 1)$q$),
('hrm_grid_transform', 'empty grid', '2202E', $q$SELECT hrm_grid_transform('{}', 1)$q$),
('hrm_grid_transform', 'a NULL cell', '22004', $q$SELECT hrm_grid_transform(ARRAY[[1, NULL], [3, 4]], 1)$q$),
('hrm_grid_transform_inverse', 'tid 9', '22023', $q$SELECT hrm_grid_transform_inverse(ARRAY[[1, 2], [3, 4]], 9)$q$),
('hrm_grid_transform_inverse', 'a NULL cell', '22004', $q$SELECT hrm_grid_transform_inverse(ARRAY[[NULL::int]], 0)$q$),
('hrm_arc_permute_colors', 'colors 9 long', '22023', $q$SELECT hrm_arc_permute_colors(ARRAY[[1]], ARRAY[0,1,2,3,4,5,6,7,8])$q$),
('hrm_arc_permute_colors', 'colors repeated', '22023', $q$SELECT hrm_arc_permute_colors(ARRAY[[1]], ARRAY[0,0,2,3,4,5,6,7,8,9])$q$),
('hrm_arc_permute_colors', 'colors out of range', '22023', $q$SELECT hrm_arc_permute_colors(ARRAY[[1]], ARRAY[0,1,2,3,4,5,6,7,8,10])$q$),
('hrm_arc_permute_colors', 'colors a NULL', '22004', $q$SELECT hrm_arc_permute_colors(ARRAY[[1]], ARRAY[0,1,2,3,4,5,6,7,8,NULL])$q$),
('hrm_arc_permute_colors', 'grid colour 10', '22003', $q$SELECT hrm_arc_permute_colors(ARRAY[[10]], ARRAY[0,1,2,3,4,5,6,7,8,9])$q$),
('hrm_arc_permute_colors', 'grid colour INT_MIN', '22003', $q$SELECT hrm_arc_permute_colors(ARRAY[[-2147483648]], ARRAY[0,1,2,3,4,5,6,7,8,9])$q$),
('hrm_arc_color_perm_inverse', 'colors 11 long', '22023', $q$SELECT hrm_arc_color_perm_inverse(ARRAY[0,1,2,3,4,5,6,7,8,9,10])$q$),
('hrm_arc_color_perm_inverse', 'colors -1', '22023', $q$SELECT hrm_arc_color_perm_inverse(ARRAY[-1,1,2,3,4,5,6,7,8,9])$q$),
('hrm_arc_color_perm_inverse', 'colors 2-D', '22023', $q$SELECT hrm_arc_color_perm_inverse(array_fill(0, ARRAY[2, 5]))$q$),
('hrm_arc_encode', 'grid 31 x 1', '54000', $q$SELECT hrm_arc_encode(array_fill(1, ARRAY[31, 1]))$q$),
('hrm_arc_encode', 'grid 1 x 31', '54000', $q$SELECT hrm_arc_encode(array_fill(1, ARRAY[1, 31]))$q$),
('hrm_arc_encode', 'grid 1-D', '2202E', $q$SELECT hrm_arc_encode(ARRAY[1, 2])$q$),
('hrm_arc_encode', 'grid empty', '2202E', $q$SELECT hrm_arc_encode('{}')$q$),
('hrm_arc_encode', 'colour 10', '22003', $q$SELECT hrm_arc_encode(ARRAY[[10]])$q$),
('hrm_arc_encode', 'colour -1', '22003', $q$SELECT hrm_arc_encode(ARRAY[[-1]])$q$),
('hrm_arc_encode', 'a NULL colour', '22004', $q$SELECT hrm_arc_encode(ARRAY[[1, NULL]])$q$),
('hrm_arc_encode', 'row offset -1', '22023', $q$SELECT hrm_arc_encode(ARRAY[[1]], -1, 0)$q$),
('hrm_arc_encode', 'col offset 30', '22023', $q$SELECT hrm_arc_encode(ARRAY[[1]], 0, 30)$q$),
('hrm_arc_encode', 'offsets INT_MIN', '22023', $q$SELECT hrm_arc_encode(ARRAY[[1]], -2147483648, -2147483648)$q$),
('hrm_arc_decode', '899 tokens', '2202E', $q$SELECT hrm_arc_decode(array_fill(0, ARRAY[899]))$q$),
('hrm_arc_decode', 'token 12', '22P03', $q$SELECT hrm_arc_decode(array_fill(0, ARRAY[899]) || 12)$q$),
('hrm_arc_decode', 'token -1', '22P03', $q$SELECT hrm_arc_decode(array_fill(0, ARRAY[899]) || -1)$q$),
('hrm_arc_decode', 'a NULL token', '22004', $q$SELECT hrm_arc_decode(array_fill(0, ARRAY[899]) || NULL::int)$q$),
('hrm_arc_crop', '901 tokens', '2202E', $q$SELECT hrm_arc_crop(array_fill(0, ARRAY[901]))$q$),
('hrm_arc_augment', 'input colour 10', '22003', $q$SELECT * FROM hrm_arc_augment(ARRAY[[10]], ARRAY[[1]], 1)$q$),
('hrm_arc_augment', 'output 31 x 31', '54000', $q$SELECT * FROM hrm_arc_augment(ARRAY[[1]], array_fill(1, ARRAY[31, 31]), 1)$q$),
('hrm_arc_augment', 'input 1-D', '2202E', $q$SELECT * FROM hrm_arc_augment(ARRAY[1], ARRAY[[1]], 1)$q$),
('hrm_arc_augment', 'a NULL cell', '22004', $q$SELECT * FROM hrm_arc_augment(ARRAY[[NULL::int]], ARRAY[[1]], 1)$q$),
('hrm_arc_load', 'task not an object', '2203C', $q$SELECT * FROM hrm_arc_load('[1]')$q$),
('hrm_arc_load', 'task a string', '2203C', $q$SELECT * FROM hrm_arc_load('"abc"')$q$),
('hrm_arc_load', 'no train', '2203A', $q$SELECT * FROM hrm_arc_load('{"test": []}')$q$),
('hrm_arc_load', 'train not an array', '22039', $q$SELECT * FROM hrm_arc_load('{"train": {}, "test": []}')$q$),
('hrm_arc_load', 'pair not an object', '2203C', $q$SELECT * FROM hrm_arc_load('{"train": [1], "test": []}')$q$),
('hrm_arc_load', 'pair without output', '2203A', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'grid not an array', '22039', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": 5, "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'ragged rows', '2202E', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'empty grid', '2202E', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'colour 10', '22003', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [[10]], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'colour -1', '22003', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [[-1]], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'colour 1.5', '22036', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [[1.5]], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'colour 1e300', '22036', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [[1e300]], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'colour a string', '22036', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [["1"]], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'colour null', '22036', $q$SELECT * FROM hrm_arc_load('{"train": [{"input": [[null]], "output": [[1]]}], "test": []}')$q$),
('hrm_arc_load', 'grid 31 x 1', '54000', $q$SELECT * FROM hrm_arc_load(jsonb_build_object('train', jsonb_build_array(jsonb_build_object('input', to_jsonb(array_fill(1, ARRAY[31, 1])), 'output', '[[1]]'::jsonb)), 'test', '[]'::jsonb))$q$),
('hrm_arc_load', 'an object of tasks, not a task', '2203A', $q$SELECT * FROM hrm_arc_load('{"007": {"train": [], "test": []}}')$q$);

-- hrm_load_pretrained, safetensors inspection ------------------------------------
INSERT INTO cases (entry, label, want, q) VALUES
('hrm_load_pretrained', 'unknown name', '42704', $q$SELECT hrm_load_pretrained('no_such_model')$q$),
('hrm_load_pretrained', 'a hyphen', '22023', $q$SELECT hrm_load_pretrained('no-such-model')$q$),
('hrm_load_pretrained', 'path traversal', '22023', $q$SELECT hrm_load_pretrained('../../../etc/passwd')$q$),
('hrm_load_pretrained', 'absolute path', '22023', $q$SELECT hrm_load_pretrained('/etc/passwd')$q$),
('hrm_load_pretrained', 'upper case', '22023', $q$SELECT hrm_load_pretrained('Sudoku')$q$),
('hrm_load_pretrained', 'empty', '22023', $q$SELECT hrm_load_pretrained('')$q$),
('hrm_load_pretrained', 'NULL', '22004', $q$SELECT hrm_load_pretrained(NULL)$q$),
('hrm_load_pretrained', 'a NUL-free control character', '22023', $q$SELECT hrm_load_pretrained(E'a\nb')$q$),
('hrm_load_pretrained', '1 KB name', '22023', $q$SELECT hrm_load_pretrained(repeat('a', 1024))$q$);
INSERT INTO cases (entry, label, want, q)
SELECT fn, label, want, format(tmpl, fn)
  FROM (VALUES ('hrm_safetensors_info'), ('hrm_safetensors_metadata')) AS e(fn),
       (VALUES
        ('file empty', '22P03', $q$SELECT count(*) FROM f, LATERAL %s('\x') x$q$),
        ('file 7 bytes', '22P03', $q$SELECT count(*) FROM f, LATERAL %s('\x00000000000000') x$q$),
        ('header length 2^64 - 1', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(overlay(s PLACING '\xffffffffffffffff' FROM 1)) x$q$),
        ('header length past the end', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(overlay(s PLACING pg_temp.le64(octet_length(s)) FROM 1)) x$q$),
        ('truncated data', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(substring(s FOR octet_length(s) - 100)) x$q$),
        ('header not JSON', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.rebuild(s, '{{')) x$q$),
        ('header a JSON array', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.rebuild(s, '[]')) x$q$),
        ('dtype unknown', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{model.inner.H_init,dtype}', '"Q4"')) x$q$),
        ('shape negative', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{model.inner.H_init,shape}', '[-1]')) x$q$),
        ('shape overflows', '22000', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{model.inner.H_init,shape}', '[4294967296, 4294967296, 64]')) x$q$),
        ('offsets reversed', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[256, 0]')) x$q$),
        ('offsets out of range', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{model.inner.H_init,data_offsets}', '[0, 99999999999]')) x$q$),
        ('offsets overlap', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{model.inner.L_init,data_offsets}', '[0, 256]')) x$q$),
        ('size does not match the shape', '22000', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{model.inner.H_init,shape}', '[65]')) x$q$),
        ('metadata not strings', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.hset(s, '{__metadata__,hrm_config}', '{"a": 1}')) x$q$),
        ('a tensor name not UTF-8', '22021', $q$SELECT count(*) FROM f, LATERAL %s(overlay(s PLACING '\xff' FROM position('H_init'::bytea IN s))) x$q$),
        ('a metadata value not UTF-8', '22021', $q$SELECT count(*) FROM f, LATERAL %s(overlay(s PLACING '\x80' FROM position('rope'::bytea IN s))) x$q$),
        ('duplicate names', '22P03', $q$SELECT count(*) FROM f, LATERAL %s(pg_temp.rebuild(s, regexp_replace(pg_temp.hdr(s), '^\{', '{"model.inner.H_init": {"dtype": "F32", "shape": [64], "data_offsets": [0, 256]}, '))) x$q$)
       ) AS c(label, want, tmpl);

-- a role that neither owns nor was granted the models -----------------------------
INSERT INTO cases (entry, label, want, q)
SELECT entry, 'another role: ' || label, want, 'SET LOCAL ROLE regress_hrm_bad_role; ' || q
  FROM (VALUES
    ('hrm_export', 'not granted', '42501', $q$SELECT hrm_export('sud')$q$),
    ('hrm_forward', 'not granted', '42501', $q$SELECT * FROM hrm_forward('sud', (SELECT t FROM g))$q$),
    ('hrm_solve', 'not granted', '42501', $q$SELECT hrm_solve('sud', (SELECT p FROM g))$q$),
    ('hrm_solve_detail', 'not granted', '42501', $q$SELECT * FROM hrm_solve_detail('sud', (SELECT t FROM g))$q$),
    ('hrm_trace', 'not granted', '42501', $q$SELECT * FROM hrm_trace('sud', (SELECT p FROM g))$q$),
    ('hrm_solve_batch', 'not granted', '42501', $q$SELECT * FROM hrm_solve_batch('sud', ARRAY[(SELECT p FROM g)])$q$),
    ('hrm_solve', 'default_model not granted', '42501', $q$SET LOCAL hrm.default_model = 'sud'; SELECT hrm_solve((SELECT p FROM g))$q$),
    ('hrm_evaluate', 'not granted', '42501', $q$SELECT hrm_evaluate('sud', 'src_sud')$q$),
    ('hrm_import', 'replacing another role''s model', '42501', $q$SELECT hrm_import('sud', s) FROM f$q$),
    ('hrm_drop_model', 'not the owner', '42501', $q$SELECT hrm_drop_model('sud')$q$),
    ('hrm_rename_model', 'not the owner', '42501', $q$SELECT hrm_rename_model('sud', 'mine')$q$),
    ('hrm_grant', 'not the owner', '42501', $q$SELECT hrm_grant('sud', 'regress_hrm_bad_role')$q$),
    ('hrm_revoke', 'not the owner', '42501', $q$SELECT hrm_revoke('sud', 'regress_hrm_bad_role')$q$),
    ('hrm_train', 'not the owner', '42501', $q$SELECT hrm_train('sud', 'src_sud', '{"steps": 1}')$q$),
    ('hrm_train', 'a source without SELECT privilege', '42501', $q$SELECT hrm_train('mine', 'src_private', '{"steps": 1}')$q$),
    ('hrm_evaluate', 'a source without SELECT privilege', '42501', $q$SELECT hrm_evaluate('gen', 'src_private')$q$),
    ('hrm_solve_batch', 'a query without SELECT privilege', '42501', $q$SELECT * FROM hrm_solve_batch('gen', 'SELECT 1, input FROM src_private')$q$),
    ('settings', 'hrm.max_memory', '42501', $q$SET hrm.max_memory = '8GB'$q$),
    ('settings', 'hrm.max_threads', '42501', $q$SET hrm.max_threads = 64$q$),
    ('settings', 'hrm.max_training_data', '42501', $q$SET hrm.max_training_data = '64GB'$q$),
    ('settings', 'hrm.max_training_jobs_per_role', '42501', $q$SET hrm.max_training_jobs_per_role = 0$q$),
    ('hrm.model', 'written directly', '42501', $q$UPDATE hrm.model SET name = 'mine'$q$),
    ('hrm.model', 'deleted directly', '42501', $q$DELETE FROM hrm.model$q$),
    ('hrm.checkpoint', 'written directly', '42501', $q$INSERT INTO hrm.checkpoint (model, step, state) VALUES ('sud', 1, 1)$q$),
    ('hrm.job', 'written directly', '42501', $q$DELETE FROM hrm.job$q$),
    ('large objects', 'weights read directly', '42501', $q$SELECT lo_get(weights) FROM hrm.model WHERE name = 'sud'$q$),
    ('large objects', 'weights overwritten directly', '42501', $q$SELECT lo_put(weights, 0, '\x00') FROM hrm.model WHERE name = 'sud'$q$),
    ('large objects', 'weights unlinked directly', '42501', $q$SELECT lo_unlink(weights) FROM hrm.model WHERE name = 'sud'$q$)
  ) AS t(entry, label, want, q);
INSERT INTO cases (entry, label, want, q) VALUES
('hrm.models', 'a view over a join', '55000', $q$INSERT INTO hrm.models (name) VALUES ('mine')$q$),
('hrm.cache', 'a view over a function', '55000', $q$DELETE FROM hrm.cache$q$),
('hrm.lo_unlink_trigger', 'called directly', '39P01', $q$SELECT hrm.lo_unlink_trigger()$q$),
('hrm.drop_owned_trigger', 'called directly', '39P01', $q$SELECT hrm.drop_owned_trigger()$q$),
('hrm.lo_unlink_trigger', 'on another table', '39P01', $q$CREATE TRIGGER t_x AFTER DELETE ON src_log FOR EACH ROW EXECUTE FUNCTION hrm.lo_unlink_trigger('x'); INSERT INTO src_log VALUES ('a'); DELETE FROM src_log$q$),
('hrm_train', 'table form: default_model of another task', '42804', $q$SET LOCAL hrm.default_model = 'maze'; SELECT hrm_train('src_sud'::regclass)$q$);

SELECT count(*) AS cases, count(DISTINCT entry) AS entry_points FROM cases;

-- ---------------------------------------------------------------------------
-- Run every case.  A mismatch (want <> got) shows in the diff; XX000 or "ok"
-- would each be a bug.
-- One statement per case (\gexec), each under a statement_timeout so that a
-- case that wrongly got through (a training job, a long solve) ends.
CREATE TABLE results (id int PRIMARY KEY, got text, message text);
SET statement_timeout = '60s';
\set ECHO none
SELECT format('INSERT INTO results SELECT %s, split_part(r, E''\t'', 1), split_part(r, E''\t'', 2) FROM pg_temp.sqlstate(%L) r',
              id, q)
  FROM cases ORDER BY id \gexec
\set ECHO all
RESET statement_timeout;
SELECT entry, label, want, coalesce(got, 'none') AS got FROM cases LEFT JOIN results USING (id) ORDER BY id;
SELECT count(*) AS mismatches FROM cases LEFT JOIN results USING (id) WHERE got IS DISTINCT FROM want;
SELECT count(*) AS internal_errors_or_successes FROM results WHERE got LIKE 'XX%' OR got = 'ok';

-- ---------------------------------------------------------------------------
-- Nothing was half-written: the same models, no job, no checkpoint, no other
-- large object, no source side effect; and every model still works.
SELECT name FROM hrm.model ORDER BY name;
SELECT count(*) AS los_after, :los_before AS los_before FROM pg_largeobject_metadata;
SELECT count(*) AS jobs FROM hrm.job;
SELECT count(*) AS checkpoints FROM hrm.checkpoint;
SELECT count(*) AS source_writes FROM src_log;
SELECT last_value, is_called FROM src_seq;
SELECT count(*) AS training FROM hrm.training;
SELECT name, (generation, md5(hrm_export(name))) = (SELECT e.generation, e.md5 FROM exports e WHERE e.name = m.name) AS unchanged,
       (SELECT count(*) FROM hrm_forward(name, array_fill(1, ARRAY[(config->>'seq_len')::int]), 0, 1)) AS segments
  FROM hrm.model m ORDER BY name;
SELECT length(hrm_solve('sud', p)) AS solved_cells FROM g;

\c :origdb
SET client_min_messages = warning;
DROP DATABASE regress_hrm_bad_input;
DROP ROLE regress_hrm_bad_role;
