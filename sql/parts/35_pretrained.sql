
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
