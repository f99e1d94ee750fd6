#!/usr/bin/env bash
# ALTER EXTENSION hrm UPDATE from the previous release, on the running
# cluster (PGHOST / PGPORT; test/run_all.sh runs it under pg_virtualenv):
#
#   1. a database installs the previous release (CREATE EXTENSION hrm
#      VERSION '<old>', from its frozen script sql/hrm--<old>.sql, with this
#      build's library) and stores models: the reference fixtures imported
#      and a tiny model trained with hrm_train (checkpoints), one granted to
#      another role;
#   2. it records what the models answer (md5 of hrm_forward and hrm_solve
#      outputs, of hrm_export) and the catalog rows;
#   3. ALTER EXTENSION hrm UPDATE reaches the default version, and the
#      models answer identically, with the same generations, owners and grants;
#   4. the updated extension's objects equal a fresh install's, object by
#      object: every member (pg_depend deptype 'e') with its definition
#      (functions: pg_get_functiondef with volatility, strictness, parallel
#      safety, cost; tables: columns, defaults, constraints, indexes,
#      triggers; views; sequences; grants; comments; pg_dump configuration),
#      so an object missing from, or different in, the update script fails;
#   5. the new version's functions work on the updated database (publishing
#      a checkpoint of the model trained before the update), and DROP
#      EXTENSION leaves no large object.
#
#   bash test/upgrade.sh [OLD_VERSION]        (default 0.1.0)
#
# Prints "upgrade: ok" or what differs; exit status non-zero on failure.
set -euo pipefail

cd "$(dirname "$0")/.."
OLD=${1:-0.1.0}
FIX=${HRM_FIXTURES:-$(pwd)/test/fixtures}
NEW=$(sed -n "s/^default_version = '\(.*\)'/\1/p" hrm.control)
OLD_DB=hrm_upgrade_old
NEW_DB=hrm_upgrade_new
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hrm-upgrade.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

q() {
    local db=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

echo "upgrade: $OLD -> $NEW"
dropdb --if-exists "$OLD_DB" 2>/dev/null
dropdb --if-exists "$NEW_DB" 2>/dev/null
createdb "$OLD_DB"
createdb "$NEW_DB"

# 1. the previous release, with models
export HRM_UPGRADE_FIX=$FIX
q "$OLD_DB" -v old="$OLD" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION hrm VERSION :'old';
\set w `base64 -w0 "$HRM_UPGRADE_FIX/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('up_sudoku', decode(:'w', 'base64'), task => 'sudoku');
\set w `base64 -w0 "$HRM_UPGRADE_FIX/grid-puzzle-ids.weights.safetensors"`
SELECT hrm_import('up_grid', decode(:'w', 'base64'));
CREATE TABLE up_puzzles AS SELECT * FROM hrm_sudoku_generate(64, 20, 9);
SELECT state FROM hrm_train('up_trained', 'up_puzzles',
    '{"arch": "hrm", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
      "batch_size": 16, "seed": 1, "threads": 1, "steps": 10, "checkpoint_every": 5, "keep": 0}');
DROP ROLE IF EXISTS hrm_upgrade_reader;
CREATE ROLE hrm_upgrade_reader;
SELECT hrm_grant('up_trained', 'hrm_upgrade_reader');
SQL
[ "$(q "$OLD_DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'hrm'")" = "$OLD" ]

# 2. what the models answer, and the catalog
answers="
SELECT 'forward ' || m.name || ' ' || md5(string_agg(f.logits::text || ' ' || f.q_halt || ' ' || f.q_continue, ',' ORDER BY f.segment))
  FROM hrm.model m, LATERAL hrm_forward(m.name, array_fill(1, ARRAY[(m.config->>'seq_len')::int]), 0, 2) f
 GROUP BY m.name
UNION ALL
SELECT 'solve ' || md5(string_agg(hrm_solve(m, puzzle), ',' ORDER BY puzzle))
  FROM up_puzzles, unnest(ARRAY['up_sudoku', 'up_trained']) m
UNION ALL
SELECT 'detail ' || md5(string_agg(d::text, ',' ORDER BY puzzle))
  FROM up_puzzles, LATERAL hrm_solve_detail('up_trained', puzzle) d
UNION ALL
SELECT 'export ' || name || ' ' || md5(hrm_export(name)) FROM hrm.model
UNION ALL
SELECT 'model ' || name || ' ' || generation || ' ' || owner || ' ' || readers::text || ' ' || source
  FROM hrm.models
UNION ALL
SELECT 'checkpoints ' || string_agg(model || ':' || step, ',' ORDER BY model, step) FROM hrm.checkpoint
ORDER BY 1"
q "$OLD_DB" -c "$answers" >"$WORK/before"

# 3. the update
q "$OLD_DB" -c "ALTER EXTENSION hrm UPDATE"
version=$(q "$OLD_DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'hrm'")
if [ "$version" != "$NEW" ]; then
    echo "upgrade: ALTER EXTENSION hrm UPDATE reached $version, not $NEW"
    exit 1
fi
q "$OLD_DB" -c "$answers" >"$WORK/after"
if ! diff -u "$WORK/before" "$WORK/after"; then
    echo "upgrade: the models answer differently after the update (above)"
    exit 1
fi
echo "upgrade: $(wc -l <"$WORK/before") answers and catalog rows identical before and after"

# 4. the updated extension's objects against a fresh install's
q "$NEW_DB" -c "SET client_min_messages = warning; CREATE EXTENSION hrm"
listing="
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'hrm'),
members AS (
    SELECT d.classid, d.objid, d.objsubid
      FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (SELECT objid AS oid FROM members WHERE classid = 'pg_class'::regclass)
SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM members
UNION ALL
SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_get_functiondef(p.oid)
       || E'\n  acl ' || coalesce(p.proacl::text, '-') || ' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' kind ' || c.relkind::text || ' persistence ' || c.relpersistence::text
       || ' options ' || coalesce(c.reloptions::text, '-') || ' acl ' || coalesce(c.relacl::text, '-')
       || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-')
  FROM rels r JOIN pg_class c ON c.oid = r.oid
UNION ALL
SELECT 'column ' || a.attrelid::regclass || ' #' || row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)
       || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || ' default ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-') || ' acl ' || coalesce(a.attacl::text, '-')
       || ' comment ' || coalesce(col_description(a.attrelid, a.attnum), '-')
  FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM rels r JOIN pg_index i ON i.indrelid = r.oid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' comment ' || coalesce(obj_description(t.oid, 'pg_trigger'), '-')
  FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'view ' || c.oid::regclass || E'\n' || pg_get_viewdef(c.oid, true)
  FROM rels r JOIN pg_class c ON c.oid = r.oid AND c.relkind IN ('v', 'm')
UNION ALL
SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL) || ' start ' || s.seqstart
       || ' increment ' || s.seqincrement || ' min ' || s.seqmin || ' max ' || s.seqmax || ' cache ' || s.seqcache
       || ' cycle ' || s.seqcycle
  FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
UNION ALL
SELECT 'schema ' || n.nspname || ' acl ' || coalesce(n.nspacl::text, '-') || ' comment ' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
  FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
UNION ALL
SELECT 'type ' || format_type(t.oid, NULL) || ' ' || t.typtype::text || ' comment ' || coalesce(obj_description(t.oid, 'pg_type'), '-')
  FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
UNION ALL
SELECT 'event trigger ' || e.evtname || ' ' || e.evtevent || ' ' || coalesce(e.evttags::text, '-') || ' '
       || e.evtfoid::regprocedure || ' ' || e.evtenabled::text
       || ' comment ' || coalesce(obj_description(e.oid, 'pg_event_trigger'), '-')
  FROM members m JOIN pg_event_trigger e ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid
UNION ALL
SELECT 'dumped ' || c::regclass || ' where ' || coalesce(w, '-')
  FROM ext, unnest(ext.extconfig, ext.extcondition) AS u(c, w)
UNION ALL
SELECT 'extension ' || e.extname || ' ' || e.extversion || ' relocatable ' || e.extrelocatable || ' schema ' || e.extnamespace::regnamespace
  FROM pg_extension e WHERE e.extname = 'hrm'
ORDER BY 1"
q "$OLD_DB" -c "$listing" >"$WORK/updated"
q "$NEW_DB" -c "$listing" >"$WORK/fresh"
if ! diff -u "$WORK/fresh" "$WORK/updated"; then
    echo "upgrade: the updated extension differs from a fresh $NEW install (- fresh, + updated):"
    echo "upgrade: sql/hrm--$OLD--$NEW.sql must create or change the objects above as sql/parts/ does"
    exit 1
fi
echo "upgrade: $(grep -c '^member ' "$WORK/fresh") extension members, their definitions, grants and comments equal a fresh install's"

# 5. the new version's functions on the updated database; a clean drop
q "$OLD_DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT hrm_publish_checkpoint('up_trained', 5) IS NOT NULL AS published;
SELECT count(*) FROM hrm.progress;
DROP EXTENSION hrm;
SQL
if [ "$(q "$OLD_DB" -c "SELECT count(*) FROM pg_largeobject_metadata")" != 0 ]; then
    echo "upgrade: DROP EXTENSION left large objects behind"
    exit 1
fi
echo "upgrade: hrm_publish_checkpoint and hrm.progress work on the updated database; DROP EXTENSION leaves no large object"
q "$OLD_DB" -c "DROP ROLE hrm_upgrade_reader"
dropdb "$OLD_DB"
dropdb "$NEW_DB"
echo "upgrade: ok"
