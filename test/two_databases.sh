#!/usr/bin/env bash
# Two (and three) databases in one cluster: what is per database stays per
# database.  Run inside a throwaway cluster (test/run_all.sh runs it under
# pg_virtualenv, with and without shared_preload_libraries = hrm):
#
#   pg_virtualenv -t bash test/two_databases.sh
#
# - The shared model cache is keyed by database: role hrm_two_rb's model "m"
#   (generation 1) in database hrm_two_b runs its own weights, not role
#   hrm_two_ra's "m" (generation 1 too) of hrm_two_a; a drop in one database
#   leaves the other's copy; a CREATE DATABASE ... TEMPLATE clone, whose
#   names, generations and large object OIDs start as its source's, serves
#   its own weights after both re-import; the slots of a dropped database
#   are released.
# - Job ids are per database: job 1 of each database is listed once in
#   each database's hrm.training, and hrm_cancel(1) finds this database's.
#
# Prints "ok - ..." / "not ok - ..." per check and fails if any check failed.
set -euo pipefail

: "${HRM_FIXTURES:?set HRM_FIXTURES to the fixture directory}"
A="$HRM_FIXTURES/sudoku-tiny.weights.safetensors"
B="$HRM_FIXTURES/train-tiny.weights.safetensors"
fails=0
checks=0

q() {
    local db=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

check() {
    checks=$((checks + 1))
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
    else
        echo "not ok - $1: expected '$2', got '$3'"
        fails=$((fails + 1))
    fi
}

# import DB ROLE FILE: import FILE as model "m" of ROLE in DB; prints the generation.
import() {
    q "$1" -v role="$2" <<SQL
SET client_min_messages = warning;
SET ROLE :"role";
\\set w \`base64 -w0 "$3"\`
SELECT hrm_import('m', decode(:'w', 'base64')) \\gset
SELECT generation FROM hrm.model WHERE name = 'm';
SQL
}

# fingerprint DB ROLE [shared_cache]: the outputs of "m" on a fixed input.
fingerprint() {
    q "$1" -v role="$2" -v cache="${3:-on}" <<'SQL'
SET hrm.shared_cache = :cache;
SET ROLE :"role";
SELECT md5(string_agg(logits::text || q_halt || q_continue, ',' ORDER BY segment))
  FROM hrm_forward('m', array_fill(1, ARRAY[81]), 0, 2);
SQL
}

for db in hrm_two_a hrm_two_b hrm_two_c; do
    dropdb --if-exists "$db"
done
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
SET client_min_messages = warning;
DROP ROLE IF EXISTS hrm_two_ra;
DROP ROLE IF EXISTS hrm_two_rb;
CREATE ROLE hrm_two_ra;
CREATE ROLE hrm_two_rb;
SQL
for db in hrm_two_a hrm_two_b; do
    createdb "$db"
    q "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION hrm" \
        -c "CREATE TABLE s AS SELECT * FROM hrm_sudoku_generate(40, 20, 1)" \
        -c "GRANT SELECT ON s TO PUBLIC"
done
echo "cache mode: $(q hrm_two_a -c 'SELECT hrm_cache_mode()')"

# 1. Same name, same generation, different owners and weights.
check "generation 1 in hrm_two_a" 1 "$(import hrm_two_a hrm_two_ra "$A")"
check "generation 1 in hrm_two_b" 1 "$(import hrm_two_b hrm_two_rb "$B")"
truth_a=$(fingerprint hrm_two_a hrm_two_ra off)
truth_b=$(fingerprint hrm_two_b hrm_two_rb off)
if [ "$truth_a" = "$truth_b" ]; then
    echo "not ok - the two fixtures give different outputs"
    exit 1
fi
check "hrm_two_a runs its own m" "$truth_a" "$(fingerprint hrm_two_a hrm_two_ra)"
check "hrm_two_b runs its own m, not hrm_two_a's shared copy" "$truth_b" "$(fingerprint hrm_two_b hrm_two_rb)"
check "hrm_two_a still runs its own m" "$truth_a" "$(fingerprint hrm_two_a hrm_two_ra)"
check "hrm.cache shows this database's copy only" "m|1" \
    "$(q hrm_two_a -c "SELECT string_agg(model || '|' || generation, ',') FROM hrm.cache")"
check "hrm_cache_info() shows both databases to a superuser" "hrm_two_a:m,hrm_two_b:m" \
    "$(q hrm_two_a -c "SELECT string_agg(database || ':' || model, ',' ORDER BY database) FROM hrm_cache_info()")"
check "hrm_cache_info() shows a plain role its database's only" "hrm_two_b:m" \
    "$(q hrm_two_b -c "SET ROLE hrm_two_rb" -c "SELECT string_agg(database || ':' || model, ',') FROM hrm_cache_info()")"

# 2. A drop in one database leaves the other's copy.
# (in a session that maps its copy, so that the drop has shared memory to clean)
q hrm_two_b -c "SET ROLE hrm_two_rb" -c "SELECT count(*) FROM hrm_forward('m', array_fill(1, ARRAY[81]), 0, 1)" \
    -c "SELECT hrm_drop_model('m')" >/dev/null
check "a drop in hrm_two_b leaves hrm_two_a's shared copy" "1" \
    "$(q hrm_two_a -c "SELECT count(*) FROM hrm.cache WHERE model = 'm'")"
check "hrm_two_a runs m after the drop in hrm_two_b" "$truth_a" "$(fingerprint hrm_two_a hrm_two_ra)"

# 3. A clone starts with its source's names, generations and OIDs.
createdb -T hrm_two_a hrm_two_c
check "the clone has the same m" "$(q hrm_two_a -c "SELECT generation || ':' || weights FROM hrm.model")" \
    "$(q hrm_two_c -c "SELECT generation || ':' || weights FROM hrm.model")"
check "the clone runs m" "$truth_a" "$(fingerprint hrm_two_c hrm_two_ra)"
check "re-import in hrm_two_a: generation 2" 2 "$(import hrm_two_a hrm_two_ra "$B")"
check "re-import in the clone: generation 2 too" 2 "$(import hrm_two_c hrm_two_ra "$A")"
check "hrm_two_a runs its new weights" "$truth_b" "$(fingerprint hrm_two_a hrm_two_ra)"
check "the clone runs its own new weights, not its source's" "$truth_a" "$(fingerprint hrm_two_c hrm_two_ra)"

# 4. A dropped database's slots are released at the next publication.
dropdb hrm_two_c
import hrm_two_b hrm_two_rb "$B" >/dev/null
fingerprint hrm_two_b hrm_two_rb >/dev/null
check "no slot of a dropped database is left" "0" \
    "$(q hrm_two_a -c "SELECT count(*) FROM hrm_cache_info() WHERE database IS NULL")"

# 5. Job ids are per database.
tiny='{"arch": "hrm", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1, "batch_size": 4, "seed": 1, "threads": 1, "steps": 2}'
for db in hrm_two_a hrm_two_b; do
    check "job 1 of $db" "1|finished" \
        "$(q "$db" -c "SET client_min_messages = warning" -c "SELECT job || '|' || state FROM hrm_train('t', 's', '$tiny')")"
done
check "hrm.training lists job 1 once" "1" "$(q hrm_two_a -c "SELECT count(*) FROM hrm.training WHERE job = 1")"
check "hrm.training lists this database's job" "hrm_two_b" "$(q hrm_two_b -c "SELECT string_agg(database, ',') FROM hrm.training")"
check "hrm_training_jobs() shows both jobs 1 to a superuser" "2" \
    "$(q hrm_two_a -c "SELECT count(DISTINCT dboid) FROM hrm_training_jobs() WHERE job = 1")"
check "hrm_cancel(1) of a finished job: false" "f" "$(q hrm_two_b -c "SELECT hrm_cancel(1)")"
check "hrm_wait(1) returns this database's job" "1|true|finished" \
    "$(q hrm_two_a -c "SELECT w.job || '|' || (w.steps = j.step) || '|' || w.state FROM hrm_wait(1) w, hrm.job j WHERE j.id = 1")"

for db in hrm_two_a hrm_two_b; do
    dropdb "$db"
done
psql -X -q -d postgres -c "DROP ROLE hrm_two_ra" -c "DROP ROLE hrm_two_rb"
echo "$((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
