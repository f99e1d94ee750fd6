#!/usr/bin/env bash
# Read replicas: a primary and a streaming hot standby on this machine.
#
#   bash test/replica.sh              # hrm loaded on demand
#   bash test/replica.sh --preload    # shared_preload_libraries = 'hrm' on both
#
# Needs the extension installed (make install) and the PostgreSQL 15 server
# binaries.  Creates both clusters in a temporary directory (as the
# "postgres" OS user when run as root, since initdb refuses root), on free
# ports, listening on 127.0.0.1 only (clients use a Unix socket in that
# directory; the standby streams from the primary over 127.0.0.1 with a
# password); stops and removes them on exit, failure included.
#
# Checks:
# - the standby is in recovery and streaming; a model imported and a model
#   trained with hrm_train on the primary are replayed there (catalog rows
#   and weights large objects: hrm_export gives the same bytes);
# - the standby serves hrm_forward, hrm_solve and hrm_evaluate with the
#   same answers as the primary (md5 of the outputs), from its own shared
#   memory: its hrm.cache is empty before the first call and lists the
#   model afterwards, in a new session too (not mapped there);
# - every function that writes (hrm_train, hrm_import, hrm_drop_model,
#   hrm_rename_model, hrm_grant, hrm_revoke, hrm_load_pretrained,
#   hrm_cancel) fails there with SQLSTATE 25006 and a message naming the
#   recovery, and leaves the standby as it was;
# - a re-import on the primary is picked up by the standby, by a session
#   that had mapped the old generation too: the new generation is served
#   and listed in hrm.cache, not the stale copy.
#
# Prints "ok - ..." / "not ok - ..." per check and fails if any check failed.
# Environment: HRM_FIXTURES (default test/fixtures), PGBIN (default
# /usr/lib/postgresql/15/bin).
set -euo pipefail

cd "$(dirname "$0")/.."
HRM_FIXTURES=${HRM_FIXTURES:-$(pwd)/test/fixtures}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PRELOAD=0
case "${1:-}" in
    --preload) PRELOAD=1 ;;
    "") ;;
    *) echo "usage: $0 [--preload]" >&2; exit 2 ;;
esac
A="$HRM_FIXTURES/sudoku-tiny.weights.safetensors"
for f in "$A" "$PGBIN/initdb" "$PGBIN/pg_ctl" "$PGBIN/pg_basebackup"; do
    [ -e "$f" ] || { echo "missing: $f" >&2; exit 1; }
done
# Connections are set explicitly below; nothing from the caller's environment.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE PGOPTIONS PGSSLMODE

# Run a server-side command as the clusters' owner.
if [ "$(id -u)" = 0 ]; then
    OWNER=postgres
    as_owner() { runuser -u "$OWNER" -- "$@"; }
else
    OWNER=$(id -un)
    as_owner() { "$@"; }
fi

# A TCP port nobody listens on (as test/run_all.sh's free_port).
free_port() {
    local p i
    for i in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        if [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ] && [ "$p" != "${PRIMARY_PORT:-}" ] &&
            ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hrm-replica.XXXXXX")
chmod 700 "$WORK"
[ "$(id -u)" = 0 ] && chown "$OWNER" "$WORK"
SOCK=$WORK/sock
PRIMARY=$WORK/primary
STANDBY=$WORK/standby
PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
cleanup() {
    local rc=$?
    set +e
    for d in "$STANDBY" "$PRIMARY"; do
        if [ -f "$d/postmaster.pid" ]; then
            as_owner "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
        fi
    done
    if [ "$rc" != 0 ]; then
        for l in primary standby; do
            if [ -f "$WORK/$l.log" ]; then
                echo "--- last lines of the $l's log"
                tail -n 30 "$WORK/$l.log"
            fi
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_owner mkdir "$SOCK"
echo "$PASSWORD" >"$WORK/pwfile"
[ "$(id -u)" = 0 ] && chown "$OWNER" "$WORK/pwfile"
as_owner "$PGBIN/initdb" -D "$PRIMARY" -U postgres --pwfile="$WORK/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$WORK/initdb.log" 2>&1 || {
    cat "$WORK/initdb.log"
    exit 1
}
rm -f "$WORK/pwfile"

PRIMARY_PORT=$(free_port)
preload_line="#"
mode=dynamic
if [ "$PRELOAD" = 1 ]; then
    preload_line="shared_preload_libraries = 'hrm'"
    mode=preload
fi
as_owner tee -a "$PRIMARY/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$SOCK'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
$preload_line
EOF
as_owner "$PGBIN/pg_ctl" -D "$PRIMARY" -l "$WORK/primary.log" -w -t 60 start >/dev/null

# qp / qs SQL...: run psql on the primary / the standby, database hrm_replica.
psql_at() {
    local port=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$port" -U postgres -d "${DB:-hrm_replica}" "$@"
}
qp() { psql_at "$PRIMARY_PORT" "$@"; }
qs() { psql_at "$STANDBY_PORT" "$@"; }

fails=0
checks=0
check() {
    checks=$((checks + 1))
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
    else
        echo "not ok - $1: expected '$2', got '$3'"
        fails=$((fails + 1))
    fi
}

DB=postgres qp -c "CREATE DATABASE hrm_replica"
qp -c "SET client_min_messages = warning" -c "CREATE EXTENSION hrm" \
    -c "CREATE TABLE s AS SELECT row_number() OVER () AS id, * FROM hrm_sudoku_generate(64, 20, 1)" \
    -c "CREATE ROLE hrm_replica_reader"

# The standby: a base backup streamed over 127.0.0.1, with -R.
STANDBY_PORT=$(free_port)
as_owner env PGPASSWORD="$PASSWORD" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$STANDBY" -R -X stream -c fast --no-sync >"$WORK/basebackup.log" 2>&1 || {
    cat "$WORK/basebackup.log"
    exit 1
}
as_owner tee -a "$STANDBY/postgresql.conf" >/dev/null <<EOF
port = $STANDBY_PORT
EOF
as_owner "$PGBIN/pg_ctl" -D "$STANDBY" -l "$WORK/standby.log" -w -t 60 start >/dev/null
echo "primary on 127.0.0.1:$PRIMARY_PORT, standby on 127.0.0.1:$STANDBY_PORT, cache mode $mode"

# Wait until the standby has replayed everything the primary has written.
wait_replay() {
    local lsn i
    lsn=$(qp -c "SELECT pg_current_wal_insert_lsn()")
    for i in $(seq 600); do
        if [ "$(qs -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "the standby did not replay $lsn within 60 s" >&2
    return 1
}

check "the standby is in recovery" "t" "$(qs -c "SELECT pg_is_in_recovery()")"
check "the primary streams to it" "streaming" \
    "$(qp -c "SELECT string_agg(state, ',') FROM pg_stat_replication")"
check "hrm_cache_mode() on the standby" "$mode" "$(qs -c "SELECT hrm_cache_mode()")"

# 1. Import and train on the primary.
import_sql() {
    cat <<SQL
SET client_min_messages = warning;
\\set w \`base64 -w0 "$2"\`
SELECT hrm_import('$1', decode(:'w', 'base64'), task => 'sudoku') IS NOT NULL;
SQL
}
import_sql sudoku "$A" | qp >/dev/null
tiny='{"arch": "hrm", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
       "batch_size": 8, "seed": 1, "threads": 1, "steps": 4, "eval_fraction": 0}'
check "hrm_train on the primary: 4 steps" "finished|4" \
    "$(qp -c "SET client_min_messages = warning" \
          -c "SELECT state || '|' || steps FROM hrm_train('trained', 'SELECT puzzle, solution FROM s', '$tiny')")"
qp -c "SELECT hrm_grant('sudoku', 'hrm_replica_reader')" >/dev/null
wait_replay

catalog="SELECT string_agg(name || ':' || generation || ':' || n_params || ':' || source || ':' || array_to_string(readers, '+'), ',' ORDER BY name) FROM hrm.models"
check "the standby has the primary's models (names, generations, sources, grants)" \
    "$(qp -c "$catalog")" "$(qs -c "$catalog")"
export_sql="SELECT string_agg(name || ':' || md5(hrm_export(name)), ',' ORDER BY name) FROM hrm.model"
check "hrm_export gives the same bytes on the standby" "$(qp -c "$export_sql")" "$(qs -c "$export_sql")"
check "the trained model's checkpoints are on the standby" \
    "$(qp -c "SELECT count(*) || ':' || max(step) FROM hrm.checkpoint")" \
    "$(qs -c "SELECT count(*) || ':' || max(step) FROM hrm.checkpoint")"
check "the standby's own cache is empty before any call" "0" "$(qs -c "SELECT count(*) FROM hrm.cache")"

# 2. Same answers, from the standby's shared memory.
forward_md5() {
    "$1" -c "SELECT md5(string_agg(logits::text || q_halt || q_continue, ',' ORDER BY segment))
               FROM hrm_forward('$2', hrm_sudoku_encode((SELECT puzzle FROM s WHERE id = 1)))"
}
solve_md5() {
    "$1" -c "SELECT md5(string_agg(coalesce(hrm_solve('$2', puzzle), '-'), ',' ORDER BY id)) FROM s"
}
for m in sudoku trained; do
    fp=$(forward_md5 qp "$m")
    check "hrm_forward('$m') on the standby = on the primary ($fp)" "$fp" "$(forward_md5 qs "$m")"
    sp=$(solve_md5 qp "$m")
    check "hrm_solve('$m') of 64 puzzles on the standby = on the primary ($sp)" "$sp" "$(solve_md5 qs "$m")"
done
views_sql="SELECT md5(string_agg(hrm_solve('trained', puzzle, views => 4), ',' ORDER BY id)) FROM s WHERE id <= 8"
check "hrm_solve(views => 4) on the standby = on the primary" "$(qp -c "$views_sql")" "$(qs -c "$views_sql")"
eval_sql="SELECT rows || ':' || exact_accuracy || ':' || token_accuracy FROM hrm_evaluate('trained', 'SELECT puzzle, solution FROM s')"
check "hrm_evaluate on the standby = on the primary" "$(qp -c "$eval_sql")" "$(qs -c "$eval_sql")"
gens="SELECT string_agg(name || ':' || generation, ',' ORDER BY name) FROM hrm.model"
check "the standby's hrm.cache lists both models after the calls, in a new session, not mapped there" \
    "$(qs -c "$gens"):$mode:false" \
    "$(qs -c "SELECT string_agg(model || ':' || generation, ',' ORDER BY model) || ':' || string_agg(DISTINCT mode, ',') || ':' || bool_or(mapped_here) FROM hrm.cache")"
check "the standby's shared copies were used by its sessions" "t" \
    "$(qs -c "SELECT bool_and(uses > 0) FROM hrm.cache")"

# 3. Writers fail on the standby with 25006.
# expect_readonly LABEL SQL: SQL fails on the standby with 25006 and a message about recovery.
expect_readonly() {
    local out state msg
    out=$(qs -v VERBOSITY=verbose -c "SET client_min_messages = warning" -c "$2" 2>&1) && {
        check "$1 fails on the standby" "an error" "success: $out"
        return
    }
    state=$(printf '%s\n' "$out" | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\): .*/\1/p' | head -1)
    msg=$(printf '%s\n' "$out" | sed -n 's/^ERROR: *[0-9A-Z]\{5\}: //p' | head -1)
    check "$1 on the standby: 25006 ($msg)" "25006" "$state"
    case "$msg" in
        *recovery*) ;;
        *) check "$1's message names the recovery" "...recovery..." "$msg" ;;
    esac
}
expect_readonly "hrm_train" "SELECT * FROM hrm_train('t2', 'SELECT puzzle, solution FROM s', '$tiny')"
expect_readonly "hrm_train (resume)" "SELECT * FROM hrm_train('trained', 'SELECT puzzle, solution FROM s', '{\"resume\": true, \"steps\": 8}')"
expect_readonly "hrm_train(regclass)" "SET hrm.default_model = 't3'; SELECT * FROM hrm_train('s'::regclass)"
expect_readonly "hrm_import (new model)" "SELECT hrm_import('new', hrm_export('sudoku'))"
expect_readonly "hrm_import (replace)" "SELECT hrm_import('sudoku', hrm_export('trained'))"
expect_readonly "hrm_drop_model" "SELECT hrm_drop_model('sudoku')"
expect_readonly "hrm_drop_model(if_exists) of a missing model" "SELECT hrm_drop_model('nope', true)"
expect_readonly "hrm_rename_model" "SELECT hrm_rename_model('sudoku', 'renamed')"
expect_readonly "hrm_grant" "SELECT hrm_grant('trained', 'hrm_replica_reader')"
expect_readonly "hrm_revoke" "SELECT hrm_revoke('sudoku', 'hrm_replica_reader')"
expect_readonly "hrm_load_pretrained" "SELECT hrm_load_pretrained('sudoku', 'p')"
expect_readonly "hrm_cancel" "SELECT hrm_cancel(1)"
check "the standby's catalog is unchanged by the failed calls" "$(qp -c "$catalog")" "$(qs -c "$catalog")"

# A job running on the primary: its hrm.job row reaches the standby, which
# runs nothing and cannot wait for it; once it ended, hrm_wait reads it there.
long='{"arch": "hrm", "hidden_size": 32, "num_heads": 2, "H_layers": 1, "L_layers": 1, "H_cycles": 1, "L_cycles": 1,
       "batch_size": 8, "seed": 2, "threads": 1, "steps": 1000000, "eval_fraction": 0}'
job=$(qp -c "SET client_min_messages = warning" \
         -c "SELECT job FROM hrm_train('long', 'SELECT puzzle, solution FROM s', '$long', wait => false)")
for i in $(seq 300); do
    [ "$(qs -c "SELECT state FROM hrm.job WHERE id = $job")" = running ] && break
    sleep 0.1
done
check "job $job runs on the primary; the standby's hrm.job says so" "running|running" \
    "$(qp -c "SELECT state FROM hrm.training WHERE job = $job")|$(qs -c "SELECT state FROM hrm.job WHERE id = $job")"
check "the standby's hrm.training is empty (no job runs there)" "0" "$(qs -c "SELECT count(*) FROM hrm.training")"
expect_readonly "hrm_wait of a job running on the primary" "SELECT * FROM hrm_wait($job)"
expect_readonly "hrm_cancel of a job running on the primary" "SELECT hrm_cancel($job)"
check "hrm_cancel on the primary" "t" "$(qp -c "SELECT hrm_cancel($job)")"
check "hrm_wait on the primary: cancelled" "cancelled" "$(qp -c "SELECT state FROM hrm_wait($job)")"
wait_replay
check "hrm_wait on the standby once the job ended: cancelled, same steps" \
    "$(qp -c "SELECT state || ':' || steps FROM hrm_wait($job)")" "$(qs -c "SELECT state || ':' || steps FROM hrm_wait($job)")"

# 4. A re-import on the primary reaches the standby, in a session that had
# mapped the old generation too (psql's \! runs the re-import in between).
old_fp=$(forward_md5 qp sudoku)
old_gen=$(qp -c "SELECT generation FROM hrm.model WHERE name = 'sudoku'")
new_file=$WORK/new.safetensors
qp -c "SELECT encode(hrm_export('trained'), 'base64')" | base64 -d >"$new_file"
{
    declare -p SOCK PRIMARY_PORT STANDBY_PORT
    declare -f psql_at qp qs import_sql wait_replay
    echo "set -euo pipefail"
    echo "import_sql sudoku '$new_file' | DB=hrm_replica qp >/dev/null"
    echo "DB=hrm_replica wait_replay"
} >"$WORK/reimport.sh"
fp_sql="SELECT md5(string_agg(logits::text || q_halt || q_continue, ',' ORDER BY segment))
  FROM hrm_forward('sudoku', hrm_sudoku_encode((SELECT puzzle FROM s WHERE id = 1)));"
cache_sql="SELECT string_agg(generation || ':' || mapped_here, ',') FROM hrm.cache WHERE model = 'sudoku';"
session=$(qs <<SQL
$fp_sql
$cache_sql
\\! bash $WORK/reimport.sh
$fp_sql
$cache_sql
SQL
)
new_gen=$(qp -c "SELECT generation FROM hrm.model WHERE name = 'sudoku'")
new_fp=$(forward_md5 qp sudoku)
check "the re-import on the primary: a new generation, other outputs" "t" \
    "$([ "$new_gen" -gt "$old_gen" ] && [ "$new_fp" != "$old_fp" ] && echo t || echo f)"
check "the standby has the new generation" "$new_gen" "$(qs -c "SELECT generation FROM hrm.model WHERE name = 'sudoku'")"
check "a standby session maps generation $old_gen, then serves generation $new_gen after the replay" \
    "$(printf '%s\n' "$old_fp" "$old_gen:true" "$new_fp" "$new_gen:true")" "$session"
check "a new standby session serves the new weights" "$new_fp" "$(forward_md5 qs sudoku)"
sp=$(solve_md5 qp sudoku)
check "hrm_solve('sudoku') on the standby = on the primary after the re-import" "$sp" "$(solve_md5 qs sudoku)"
check "the standby's hrm.cache lists the new generation only" "$new_gen" \
    "$(qs -c "SELECT string_agg(generation::text, ',') FROM hrm.cache WHERE model = 'sudoku'")"

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
