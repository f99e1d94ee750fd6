-- hrm — the Hierarchical Reasoning Model inside PostgreSQL.
--
-- This install script is assembled from sql/parts/*.sql in name order:
--   00_header   guard, schema
--   10_*        model catalog, import / export, inference
--   20_*        task toolkit (codecs, generators, solvers, checkers)
--   30_*        solving with models
--   40_*        training; 45_* versions (publishing checkpoints), 47_* progress

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION hrm" to load this file. \quit

-- Catalog tables, views and internal objects live in schema hrm; the SQL
-- functions live in the schema the extension is created in (public by default).
CREATE SCHEMA hrm;
COMMENT ON SCHEMA hrm IS 'hrm: model catalog, checkpoints, training jobs';
