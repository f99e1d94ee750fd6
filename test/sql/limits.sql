-- Reliability limits: inputs that used to crash the server or exhaust its
-- memory are refused with their SQLSTATEs; hrm.max_memory and
-- hrm.max_threads are superuser settings; statement_timeout and hrm_cancel
-- stop a call inside a segment or a training step, within a second.
--
-- The output holds no timings: the timed calls print "within N s".  It runs
-- in a database of its own, so that its training jobs take no job ids of
-- the other suites.
SET client_min_messages = warning;
SELECT current_database() AS origdb \gset
CREATE DATABASE regress_hrm_limits;
\c regress_hrm_limits
SET client_min_messages = warning;
CREATE EXTENSION hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
    hint text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    -- what a plan needs depends on the build (kernels, threads): masked
    RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM
                          || CASE WHEN detail <> '' THEN E'\nDETAIL: ' || detail ELSE '' END
                          || CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END,
                          'needs [0-9]+ MB', 'needs N MB', 'g');
END $$;

-- Run q; report its outcome (query_canceled included) and whether it ended within secs seconds.
CREATE FUNCTION pg_temp.timed(q text, secs float8) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    r text;
BEGIN
    BEGIN
        EXECUTE q INTO r;
        r := 'ok: ' || coalesce(r, 'null');
    EXCEPTION WHEN query_canceled THEN
        r := SQLSTATE || ': ' || SQLERRM;
    END;
    RETURN r || CASE WHEN clock_timestamp() - t0 < make_interval(secs => secs)
                     THEN format(' (within %s s)', secs)
                     ELSE format(' (after %s, over %s s)', clock_timestamp() - t0, secs) END;
END $$;

-- Little-endian 8-byte integer (the safetensors header length).
CREATE FUNCTION pg_temp.le64(n bigint) RETURNS bytea LANGUAGE sql AS $$
    SELECT decode(string_agg(lpad(to_hex((n >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
      FROM generate_series(0, 7) AS i
$$;

-- A safetensors file of an HRM with every weight zero: hidden d (SwiGLU
-- width 256), n layers per level, vocabulary v, no puzzle embedding.
CREATE FUNCTION pg_temp.zero_model(d int, n int, v int) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    names text[] := ARRAY['H_init', 'L_init', 'embed_tokens.embedding_weight', 'lm_head.weight',
                          'q_head.weight', 'q_head.bias'];
    shapes text[] := ARRAY[format('[%s]', d), format('[%s]', d), format('[%s, %s]', v, d),
                           format('[%s, %s]', v, d), format('[2, %s]', d), '[2]'];
    numels bigint[] := ARRAY[d, d, v * d, v * d, 2 * d, 2];
    hdr text := '{';
    off bigint := 0;
    lvl text;
    pad int;
BEGIN
    FOREACH lvl IN ARRAY ARRAY['H', 'L'] LOOP
        FOR i IN 0 .. n - 1 LOOP
            names := names || ARRAY[format('%s_level.layers.%s.self_attn.qkv_proj.weight', lvl, i),
                                    format('%s_level.layers.%s.self_attn.o_proj.weight', lvl, i),
                                    format('%s_level.layers.%s.mlp.gate_up_proj.weight', lvl, i),
                                    format('%s_level.layers.%s.mlp.down_proj.weight', lvl, i)];
            shapes := shapes || ARRAY[format('[%s, %s]', 3 * d, d), format('[%s, %s]', d, d),
                                      format('[512, %s]', d), format('[%s, 256]', d)];
            numels := numels || ARRAY[3 * d * d, d * d, 512 * d, 256 * d]::bigint[];
        END LOOP;
    END LOOP;
    FOR i IN 1 .. array_length(names, 1) LOOP
        hdr := hdr || CASE WHEN i > 1 THEN ', ' ELSE '' END ||
               format('"%s": {"dtype": "F32", "shape": %s, "data_offsets": [%s, %s]}',
                      names[i], shapes[i], off, off + 4 * numels[i]);
        off := off + 4 * numels[i];
    END LOOP;
    hdr := hdr || '}';
    pad := (8 - octet_length(hdr) % 8) % 8;
    hdr := hdr || repeat(' ', pad);
    RETURN pg_temp.le64(octet_length(hdr)) || convert_to(hdr, 'UTF8') || decode(repeat('00', off::int), 'hex');
END $$;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
CREATE TEMP TABLE fx AS
SELECT decode(:'w', 'base64') AS file,
       (hrm_safetensors_metadata(decode(:'w', 'base64'))->>'hrm_config')::jsonb AS config;
\unset w

-- 1. ARC offsets near INT_MAX used to overflow the fit check (a crash of
--    the server, a write outside the token array); now 22023 like any
--    offset that does not fit.
SELECT pg_temp.sqlstate($$SELECT hrm_arc_encode(ARRAY[[1]], 0, 2147483647)$$) AS col_int_max;
SELECT pg_temp.sqlstate($$SELECT (hrm_arc_encode(ARRAY[[5]], 2147483647, 7))[1:10]$$) AS row_int_max;
SELECT pg_temp.sqlstate($$SELECT hrm_arc_encode(ARRAY[[5]], 2147483647, 2147483647)$$) AS both_int_max;
SELECT pg_temp.sqlstate($$SELECT hrm_arc_encode(ARRAY[[5, 6]], 2147483640, 0)$$) AS row_near_int_max;
SELECT pg_temp.sqlstate($$SELECT hrm_arc_encode(ARRAY[[5]], -2147483648, 0)$$) AS row_int_min;
-- the last offsets that fit still encode
SELECT (hrm_arc_encode(ARRAY[[5]], 29, 29))[900] AS last_cell;
SELECT array_length(hrm_arc_encode(ARRAY[[1,2,3],[4,5,6]], 28, 27), 1) AS tokens;

-- 2. Absurd configurations are refused at import (22023, the field named)
--    before anything is sized from them; real ones still import.
SELECT pg_temp.sqlstate($$SELECT hrm_import('x', file, config || '{"seq_len": 20000}') FROM fx$$) AS seq_20000;
SELECT pg_temp.sqlstate($$SELECT hrm_import('x', file, config || '{"seq_len": 65536}') FROM fx$$) AS seq_65536;
SELECT pg_temp.sqlstate($$SELECT hrm_import('x', file, config || '{"H_cycles": 256, "L_cycles": 256}') FROM fx$$) AS cycles_256;
SELECT pg_temp.sqlstate($$SELECT hrm_import('x', file, config || '{"halt_max_steps": 4096}') FROM fx$$) AS halt_4096;
SELECT pg_temp.sqlstate($$SELECT hrm_import('x', file, config || '{"num_puzzle_identifiers": 100000000}') FROM fx$$) AS puzzles_1e8;
SELECT count(*) AS models FROM hrm.model WHERE name = 'x';
SELECT hrm_import('long', file, config || '{"seq_len": 8000}') IS NOT NULL AS seq_8000_imported FROM fx;
SELECT hrm_import('cycles', file, config || '{"H_cycles": 64, "L_cycles": 64, "halt_max_steps": 1024}') IS NOT NULL
       AS bounds_imported FROM fx;

-- 3. hrm.max_memory: every engine plan is checked before allocating
--    (54000, the hint names the setting); only a superuser may change it.
SHOW hrm.max_memory;
SET hrm.max_memory = '16MB';
-- an 8000-token model needs a 256 MB attention scratch per segment
SELECT pg_temp.sqlstate($$SELECT count(*) FROM hrm_forward('long', array_fill(1, ARRAY[8000]))$$) AS forward_long;
SELECT pg_temp.sqlstate($$SELECT hrm_solve('long', array_fill(1, ARRAY[8000]))$$) AS solve_long;
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('long', 'SELECT array_fill(1, ARRAY[8000]) AS input, array_fill(1, ARRAY[8000]) AS target')$$)
       AS evaluate_long;
-- the training data counts against it too
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_evaluate('long', 'SELECT array_fill(1, ARRAY[8000]) AS input, array_fill(1, ARRAY[8000]) AS target FROM generate_series(1, 1100)')$$)
       AS data_over_limit;
-- a batch of 65536 rows is refused by the call, before a worker starts
CREATE TABLE limits_sudoku AS SELECT * FROM hrm_sudoku_generate(4, 20, 7);
SELECT pg_temp.sqlstate($$SELECT * FROM hrm_train('t_big', 'limits_sudoku', '{"batch_size": 65536, "steps": 1}')$$)
       AS batch_65536;
SELECT count(*) AS jobs FROM hrm.job WHERE model = 't_big';
-- small plans run
SELECT count(*) AS segments FROM hrm_forward('cycles', array_fill(1, ARRAY[81]), 0, 1);
RESET hrm.max_memory;
-- logits of 8192 x 65536 do not fit an array: refused before anything is allocated
SELECT hrm_import('wide', pg_temp.zero_model(2, 1, 65536),
       '{"seq_len": 8192, "vocab_size": 65536, "puzzle_emb_ndim": 0, "hidden_size": 2, "num_heads": 1,
         "H_layers": 1, "L_layers": 1}') IS NOT NULL AS wide_imported;
SELECT pg_temp.sqlstate($$SELECT count(*) FROM hrm_forward('wide', array_fill(1, ARRAY[8192]))$$) AS forward_wide;
SET hrm.max_memory = '3GB';
SELECT pg_temp.sqlstate($$SELECT hrm_solve('wide', array_fill(1, ARRAY[8192]))$$) AS solve_wide;
RESET hrm.max_memory;
CREATE ROLE regress_hrm_limits;
GRANT SELECT ON limits_sudoku TO regress_hrm_limits;
SET ROLE regress_hrm_limits;
SELECT pg_temp.sqlstate($$SET hrm.max_memory = '100GB'$$) AS user_sets_max_memory;
SELECT pg_temp.sqlstate($$SET hrm.max_threads = 64$$) AS user_sets_max_threads;
SELECT pg_temp.sqlstate($$SET hrm.threads = 65$$) AS threads_65;
SELECT pg_temp.sqlstate($$SET hrm.threads = 64$$) AS threads_64;
RESET hrm.threads;
RESET ROLE;

-- 4. hrm.threads is capped by hrm.max_threads (a training job records the
--    threads it used).
SET hrm.max_threads = 1;
SET hrm.threads = 64;
SELECT steps, state FROM hrm_train('t_threads', 'limits_sudoku',
       '{"arch": "hrm", "hidden_size": 16, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
         "batch_size": 4, "steps": 1, "threads": 64, "seed": 1}');
SELECT hyperparameters->>'threads' AS threads FROM hrm.model WHERE name = 't_threads';
RESET hrm.threads;
RESET hrm.max_threads;

-- 5. Cancellation inside a segment: 64 x 64 cycles of 64 + 64 layers make
--    one segment take minutes; statement_timeout stops it within a second.
SELECT hrm_import('slow', pg_temp.zero_model(8, 64, 11),
       '{"seq_len": 81, "vocab_size": 11, "puzzle_emb_ndim": 0, "hidden_size": 8, "num_heads": 2,
         "H_layers": 64, "L_layers": 64, "H_cycles": 64, "L_cycles": 64, "halt_max_steps": 2}') IS NOT NULL
       AS slow_imported;
SET statement_timeout = '1s';
SELECT pg_temp.timed($$SELECT count(*) FROM hrm_forward('slow', array_fill(1, ARRAY[81]), 0, 1)$$, 2) AS forward;
RESET statement_timeout;
SET statement_timeout = '300ms';
SELECT pg_temp.timed($$SELECT hrm_solve('slow', array_fill(1, ARRAY[81]))$$, 1.3) AS solve;
RESET statement_timeout;
-- the session still works
SELECT count(*) AS segments FROM hrm_forward('cycles', array_fill(1, ARRAY[81]), 0, 1);

-- 6. Cancellation inside a training step: hrm_cancel stops a job whose
--    first step would take minutes, within a second.  The step is dropped
--    part-way; the job checkpoints the weights it had (step 0 here).
CREATE FUNCTION pg_temp.wait_running(m text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3000 LOOP
        IF EXISTS (SELECT FROM hrm.training WHERE model = m AND database = current_database()
                    AND state = 'running') THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN false;
END $$;
SELECT job AS sjob FROM hrm_train('t_slow', 'limits_sudoku',
       '{"arch": "hrm", "hidden_size": 8, "num_heads": 2, "H_layers": 64, "L_layers": 64, "H_cycles": 64, "L_cycles": 64,
         "batch_size": 2, "steps": 1, "threads": 1}', wait => false) \gset
SELECT pg_temp.wait_running('t_slow') AS running;
SELECT pg_sleep(0.2);
SELECT hrm_cancel(:sjob) AS cancelled;
SET statement_timeout = '10s';
SELECT pg_temp.timed(format('SELECT state FROM hrm_wait(%s)', :sjob), 1.5) AS job;
RESET statement_timeout;
SELECT state, step, last_checkpoint FROM hrm.job WHERE id = :sjob;
SELECT step FROM hrm.checkpoint WHERE model = 't_slow';

-- Clean up.
\c :origdb
DROP DATABASE regress_hrm_limits WITH (FORCE);
DROP ROLE regress_hrm_limits;
