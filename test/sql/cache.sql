-- The model cache: weights published once per cluster, a new generation on
-- re-import, unpublished on drop, and the size cap.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('cache_tiny', decode(:'w', 'base64'));

-- the mode follows how the library was loaded
SELECT hrm_cache_mode() = CASE WHEN current_setting('shared_preload_libraries') ~ 'hrm'
                               THEN 'preload' ELSE 'dynamic' END AS mode_matches_loading;

-- nothing is loaded before the first use
SELECT count(*) AS loaded_before_use FROM hrm.cache WHERE model = 'cache_tiny';

CREATE TEMP TABLE q1 AS
SELECT segment, q_halt FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 2);
-- bytes: the weights (1055880) and, where the packed kernels run, their packed form
SELECT model, bytes >= 1055880 AS holds_weights,
       (bytes > 1055880) = ((hrm_cpu_features()).path <> 'portable') AS packed_iff_kernels,
       mode = hrm_cache_mode() AS mode_ok, mapped_here
  FROM hrm.cache WHERE model = 'cache_tiny';
SELECT generation AS gen1 FROM hrm.cache WHERE model = 'cache_tiny' \gset

-- a re-import publishes a new generation; the next call switches to it
SELECT hrm_import('cache_tiny', decode(:'w', 'base64'));
CREATE TEMP TABLE q2 AS
SELECT segment, q_halt FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 2);
SELECT count(*) AS versions, bool_and(generation > :gen1) AS newer
  FROM hrm.cache WHERE model = 'cache_tiny';
-- the same weights give the same answers
SELECT count(*) AS same_rows FROM q1 JOIN q2 USING (segment, q_halt);

-- a per-backend copy when the shared cache is off
SET hrm.shared_cache = off;
SELECT hrm_cache_mode();
SELECT count(*) FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 1);
SELECT count(*) AS private_copies FROM hrm.cache WHERE model = 'cache_tiny' AND mode = 'backend';
RESET hrm.shared_cache;

-- drop unpublishes
SELECT hrm_drop_model('cache_tiny');
SELECT count(*) AS loaded_after_drop FROM hrm.cache WHERE model = 'cache_tiny' AND mode <> 'backend';

-- a model larger than the cap is refused with a hint
SELECT hrm_import('cache_tiny', decode(:'w', 'base64'));
SET hrm.shared_memory_limit = '1MB';
\set VERBOSITY sqlstate
SELECT count(*) FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 1);
\set VERBOSITY default
-- (the size depends on whether the packed form is kept: the kernels this CPU runs)
DO $$
DECLARE
    hint text;
BEGIN
    PERFORM count(*) FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 1);
EXCEPTION WHEN program_limit_exceeded THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RAISE WARNING '%', regexp_replace(SQLERRM, 'needs \d+ MB', 'needs N MB');
    RAISE WARNING 'hint: %', hint;
END $$;
RESET hrm.shared_memory_limit;
SELECT count(*) FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 1);

-- the kernels this backend runs, and hrm.precision: bf16 only where the CPU has AVX512_BF16
SELECT path IN ('avx512+bf16', 'avx512', 'portable') AS path_known, features <> '' AS features_listed,
       "precision" FROM hrm_cpu_features();
CREATE TEMP TABLE qf AS
SELECT segment, q_halt, q_continue FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 4);
SET hrm.precision = bf16;
SELECT "precision" = CASE WHEN path = 'avx512+bf16' THEN 'bf16' ELSE 'float32' END AS precision_follows_cpu
  FROM hrm_cpu_features();
CREATE TEMP TABLE qb AS
SELECT segment, q_halt, q_continue FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 4);
RESET hrm.precision;
-- bfloat16 products (sums in float32): the Q values within 0.05 of float32's, and not bitwise float32's
-- unless this CPU falls back to float32
SELECT count(*) AS segments, max(abs(qb.q_halt - qf.q_halt)) < 0.05 AND max(abs(qb.q_continue - qf.q_continue)) < 0.05 AS close,
       bool_and(qb.q_halt = qf.q_halt AND qb.q_continue = qf.q_continue)
         = ((SELECT path FROM hrm_cpu_features()) <> 'avx512+bf16') AS bitwise_iff_fallback
  FROM qb JOIN qf USING (segment);
SET hrm.precision = fp16;
SELECT hrm_drop_model('cache_tiny');
