-- Tiny Recursive Models from SQL: the reference's TRM inference fixtures
-- imported and run by hrm_forward within the fixtures' tolerance (attention
-- and the mlp_t token mixer); hrm_train with "arch": "trm" (both kinds of
-- block), the model row and its configuration, hrm_solve and hrm_forward with
-- it, an export / import round trip that keeps every bit, a resumed TRM run
-- identical to an uninterrupted one, and the TRM options refused where they
-- do not apply.
--
-- Models are tiny (hidden 32, one layer, one thread): each run takes a
-- second or so; no output depends on timings.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
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

-- 0. The reference's TRM fixtures (test/fixtures/README.md): every row and
--    segment against the float64 run, tol_k = max(1e-4, 10 e_k).
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/trm/trm-tiny.weights.safetensors"`
\set e `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/trm/trm-tiny.expected.safetensors"`
CREATE TEMP TABLE fx (fixture text PRIMARY KEY, weights bytea, expected bytea);
INSERT INTO fx VALUES ('trm-tiny', decode(:'w', 'base64'), decode(:'e', 'base64'));
\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/trm/trm-mlp-tiny.weights.safetensors"`
\set e `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/trm/trm-mlp-tiny.expected.safetensors"`
INSERT INTO fx VALUES ('trm-mlp-tiny', decode(:'w', 'base64'), decode(:'e', 'base64'));
\unset w
\unset e
SELECT hrm_import(fixture, weights) FROM fx ORDER BY fixture;
SELECT name, arch, config->>'mlp_t' AS mlp_t, config->>'puzzle_emb_len' AS slots, n_params
  FROM hrm.model WHERE name LIKE 'trm-%' ORDER BY name;
CREATE TEMP TABLE ex AS
SELECT f.fixture, i.name, i.shape, i."values" AS v
  FROM fx f CROSS JOIN LATERAL hrm_safetensors_info(f.expected) i;
CREATE TEMP TABLE inp AS
SELECT x.fixture, r.b, (x.v[r.b * x.shape[2] + 1 : (r.b + 1) * x.shape[2]])::int[] AS tokens,
       p.v[r.b + 1]::int AS pid
  FROM ex x JOIN ex p ON p.fixture = x.fixture AND p.name = 'puzzle_identifiers'
  CROSS JOIN LATERAL generate_series(0, x.shape[1] - 1) AS r(b)
 WHERE x.name = 'inputs';
CREATE TEMP TABLE eng AS
SELECT i.fixture, i.b, o.segment AS seg, o.logits, o.q_halt, o.q_continue
  FROM inp i CROSS JOIN LATERAL hrm_forward(i.fixture, i.tokens, i.pid) o;
-- (reference float32, reference float64, engine) triples: logits and both Q values
CREATE TEMP TABLE trip AS
SELECT a.fixture, substr(a.name, 4, 2)::int AS seg, u.r32, u.r64, l.x
  FROM ex a
  JOIN ex f ON f.fixture = a.fixture AND f.name = a.name || '_f64'
  CROSS JOIN LATERAL unnest(a.v, f.v) WITH ORDINALITY AS u(r32, r64, k)
  JOIN (SELECT e.fixture, e.seg, row_number() OVER (PARTITION BY e.fixture, e.seg ORDER BY e.b, w.k) AS k, w.x
          FROM eng e CROSS JOIN LATERAL unnest(e.logits) WITH ORDINALITY AS w(x, k)) l
    ON l.fixture = a.fixture AND l.seg = substr(a.name, 4, 2)::int AND l.k = u.k
 WHERE a.name ~ '^seg\d\d\.logits$'
UNION ALL
SELECT a.fixture, substr(a.name, 4, 2)::int, u.r32, u.r64,
       CASE WHEN a.name LIKE '%q_halt' THEN e.q_halt ELSE e.q_continue END
  FROM ex a
  JOIN ex f ON f.fixture = a.fixture AND f.name = a.name || '_f64'
  CROSS JOIN LATERAL unnest(a.v, f.v) WITH ORDINALITY AS u(r32, r64, k)
  JOIN eng e ON e.fixture = a.fixture AND e.seg = substr(a.name, 4, 2)::int AND e.b = u.k - 1
 WHERE a.name ~ '^seg\d\d\.q_(halt|continue)$';
SELECT fixture, count(*) AS segments, sum(n) AS values_compared, bool_and(within) AS every_segment_within_tolerance
  FROM (SELECT fixture, seg, count(*) AS n,
               max(abs(x - r64)) <= greatest(1e-4, 10 * max(abs(r32 - r64))) AS within
          FROM trip GROUP BY fixture, seg) s
 GROUP BY fixture ORDER BY fixture;

CREATE TABLE trm_sudoku AS SELECT * FROM hrm_sudoku_generate(200, 20, 7);

\set tiny '"arch": "trm", "hidden_size": 32, "num_heads": 2, "L_layers": 1, "H_cycles": 2, "L_cycles": 2, "batch_size": 16, "seed": 1, "threads": 1'

-- 1. A TRM with attention: trained, published, its loss going down.
SELECT steps, state, train_loss > 0 AS has_loss
  FROM hrm_train('trm_att', 'trm_sudoku', ('{' || :'tiny' || ', "steps": 40, "log_every": 10}')::jsonb);
SELECT name, arch, task, config->>'arch' AS cfg_arch, config->>'H_layers' AS h_layers,
       config->>'L_layers' AS l_layers, config->>'mlp_t' AS mlp_t, config->>'no_ACT_continue' AS no_act_continue,
       config->>'attn_mask' AS attn_mask, config->>'pos_encodings' AS pos, config->>'halt_max_steps' AS halt_max_steps
  FROM hrm.model WHERE name = 'trm_att';
SELECT (SELECT loss FROM hrm.training_log WHERE model = 'trm_att' ORDER BY step DESC LIMIT 1) <
       (SELECT loss FROM hrm.training_log WHERE model = 'trm_att' ORDER BY step LIMIT 1) AS loss_decreased;

-- 2. Solving with it: an answer of 81 digits, the segments the ACT loop ran.
SELECT length(s) AS cells, s ~ '^[1-9]{81}$' AS digits
  FROM (SELECT hrm_solve('trm_att', puzzle) AS s FROM trm_sudoku ORDER BY puzzle LIMIT 1) x;
SELECT segments BETWEEN 1 AND 4 AS segments_ok, length(solution) AS cells, confidence BETWEEN 0 AND 1 AS conf_ok
  FROM hrm_solve_detail('trm_att', (SELECT puzzle FROM trm_sudoku ORDER BY puzzle LIMIT 1), halt => 'adaptive');
SELECT count(*) AS segments FROM hrm_forward('trm_att', (SELECT hrm_sudoku_encode(puzzle) FROM trm_sudoku LIMIT 1));

-- 3. Export / import: the same file back, the same answers.
SELECT hrm_import('trm_att_copy', hrm_export('trm_att'));
SELECT md5(hrm_export('trm_att')) = md5(hrm_export('trm_att_copy')) AS round_trip_identical,
       (SELECT arch FROM hrm.model WHERE name = 'trm_att_copy') AS arch;
SELECT count(*) FILTER (WHERE hrm_solve('trm_att', puzzle) = hrm_solve('trm_att_copy', puzzle)) AS same_answers,
       count(*) AS puzzles
  FROM (SELECT puzzle FROM trm_sudoku ORDER BY puzzle LIMIT 5) p;

-- 4. TRM-MLP: the token mixer in place of attention (no positions, no mask),
--    with a moving average of the weights.
SELECT steps, state
  FROM hrm_train('trm_mlp', 'trm_sudoku', ('{' || :'tiny' || ', "mlp_t": true, "ema": 0.9, "steps": 20}')::jsonb);
SELECT arch, config->>'mlp_t' AS mlp_t, config->>'pos_encodings' AS pos, config->>'attn_mask' AS attn_mask,
       hyperparameters->>'ema' AS ema
  FROM hrm.model WHERE name = 'trm_mlp';
SELECT name FROM hrm_safetensors_info(hrm_export('trm_mlp')) WHERE name LIKE '%layers.0.%' ORDER BY name;
SELECT hrm_solve('trm_mlp', puzzle) ~ '^[1-9]{81}$' AS digits FROM trm_sudoku ORDER BY puzzle LIMIT 1;
SELECT hrm_import('trm_mlp_copy', hrm_export('trm_mlp'));
SELECT md5(hrm_export('trm_mlp')) = md5(hrm_export('trm_mlp_copy')) AS round_trip_identical;
SELECT count(*) FILTER (WHERE hrm_solve('trm_mlp', puzzle) = hrm_solve('trm_mlp_copy', puzzle)) AS same_answers
  FROM (SELECT puzzle FROM trm_sudoku ORDER BY puzzle LIMIT 5) p;

-- 5. A resumed TRM run equals an uninterrupted one (carry, optimizer and average restored).
SELECT steps FROM hrm_train('trm_a', 'trm_sudoku',
       ('{' || :'tiny' || ', "mlp_t": true, "ema": 0.9, "steps": 20, "checkpoint_every": 10}')::jsonb);
SELECT steps FROM hrm_train('trm_b', 'trm_sudoku',
       ('{' || :'tiny' || ', "mlp_t": true, "ema": 0.9, "steps": 10, "checkpoint_every": 10}')::jsonb);
SELECT steps, state FROM hrm_train('trm_b', 'trm_sudoku', '{"steps": 20, "resume": true}');
SELECT md5(hrm_export('trm_a')) = md5(hrm_export('trm_b')) AS resumed_equals_uninterrupted;

-- 6. TRM options where they do not apply, and conflicting ones.
SELECT pg_temp.sqlstate($$SELECT hrm_train('trm_err', 'trm_sudoku', '{"arch": "trm", "H_layers": 2}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('trm_err', 'trm_sudoku', '{"arch": "hrm", "mlp_t": true}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('trm_err', 'trm_sudoku', '{"arch": "hrm", "puzzle_emb_len": 4}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('trm_err', 'trm_sudoku', '{"arch": "trm", "mlp_t": true, "attn_mask": "sudoku"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('trm_err', 'trm_sudoku', '{"arch": "urm"}')$$);
SELECT pg_temp.sqlstate($$SELECT hrm_train('trm_att', 'trm_sudoku', '{"arch": "hrm", "steps": 1}')$$);
SELECT count(*) AS no_model_left FROM hrm.model WHERE name = 'trm_err';

-- 7. The Sudoku recipe is a TRM (hidden 64, peer attention, ACT 4, the
--    halting head alone deciding); "arch": "hrm" gives the recipe's HRM.
SELECT steps, state FROM hrm_train('trm_recipe', 'trm_sudoku', '{"steps": 2, "batch_size": 8, "seed": 1, "threads": 1}');
SELECT steps, state FROM hrm_train('trm_recipe_hrm', 'trm_sudoku',
       '{"arch": "hrm", "steps": 2, "batch_size": 8, "seed": 1, "threads": 1}');
SELECT name, arch, config->>'hidden_size' AS hidden, config->>'H_layers' AS h_layers, config->>'L_layers' AS l_layers,
       config->>'attn_mask' AS attn_mask, config->>'halt_max_steps' AS halt,
       config->>'no_ACT_continue' AS no_act_continue
  FROM hrm.model WHERE name IN ('trm_recipe', 'trm_recipe_hrm') ORDER BY name;
SELECT hrm_solve('trm_recipe', puzzle) ~ '^[1-9]{81}$' AS answers FROM trm_sudoku LIMIT 1;
