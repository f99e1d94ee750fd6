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

CREATE FUNCTION hrm_cpu_features(
    OUT path text,
    OUT features text,
    OUT "precision" text)
RETURNS record
AS 'MODULE_PATHNAME', 'hrm_cpu_features_sql'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION hrm_cpu_features() IS
'The kernels this backend runs (avx512+bf16, avx512 or portable: BLAS and plain C, chosen at run time from the CPU), the CPU features found, and the arithmetic hrm.precision gives here (bf16 only where the CPU has AVX512_BF16)';
