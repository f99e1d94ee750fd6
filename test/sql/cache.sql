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
SELECT model, bytes, mode = hrm_cache_mode() AS mode_ok, mapped_here
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
SELECT count(*) FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 1);
RESET hrm.shared_memory_limit;
SELECT count(*) FROM hrm_forward('cache_tiny', array_fill(1, ARRAY[81]), 0, 1);
SELECT hrm_drop_model('cache_tiny');
