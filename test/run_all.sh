#!/usr/bin/env bash
# Run every test of hrm: the "run all tests" command (what .ci/run calls).
#
#   bash test/run_all.sh
#
# First installs the Debian packages the tests need when some are missing
# (tools/install_deps.sh test: apt-get, as root or with sudo).
# Steps: strict build (-Werror) and install, engine unit tests, parity on
# every reference fixture pair (test/fixtures), the PyTorch oracle
# (tools/hrm_torch.py) against them, the checkpoint converter's tests, parity on the
# generated variant fixtures (tools/make_fixture.py --suite: learned
# positions, hidden 512, several puzzle slots, _orig_mod. names, BF16 tensors,
# odd shapes, training), the engine tests and fuzz targets under ASan + UBSan
# (corpus replay and a short fuzz of each), then
# the pg_regress + pgTAP suites on throwaway clusters (pg_virtualenv), once
# plain and once with shared_preload_libraries=hrm, a pg_dump / pg_restore
# round trip, the update from the previous release (test/upgrade.sh), the
# PGXN archive (test/dist.sh), two databases sharing one cluster (plain and
# preloaded), and the README's demo.
# Every step runs even when an earlier one failed; the last line is
# "N passed, N failed" and the exit status is non-zero on any failure.
#
# Environment: HRM_FIXTURES (default test/fixtures, the reference fixtures in
# the repository; another directory must hold the same names), HRM_DATA
# (default test/data; make test-engine then checks those ARC sets),
# FUZZ_SECONDS (default 0: no separate make fuzz campaign; N seconds per
# target otherwise), SKIP_FUZZ=1 (neither fuzzing nor the ASan step), SKIP_DEMO=1,
# SKIP_TORCH=1 (no PyTorch steps), PYTHON (default /usr/bin/python3, with
# torch and numpy), HRM_SKIP_DEPS=1 (no package check).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export HRM_FIXTURES=${HRM_FIXTURES:-$ROOT/test/fixtures}
FUZZ_SECONDS=${FUZZ_SECONDS:-0}
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then
    SUDO="sudo"
fi
# Parallel compilation; engine tests and parity take their own time.
JOBS=$(nproc 2>/dev/null || echo 2)
# Debian's Python with python3-torch / python3-numpy (.ci/run installs them).
PYTHON=${PYTHON:-/usr/bin/python3}
# Scratch space (generated fixtures), removed on exit.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hrm-run-all.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
failed_steps=()
start_all=$(date +%s)

# step NAME COMMAND...: run a step, time it, count it.
step() {
    local name=$1
    shift
    local t0=$(date +%s)
    echo
    echo "=== $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($(( $(date +%s) - t0 )) s)"
    else
        failed=$((failed + 1))
        failed_steps+=("$name")
        echo "=== $name: FAILED ($(( $(date +%s) - t0 )) s)"
    fi
}

build() {
    make clean >/dev/null
    make -j"$JOBS" STRICT=1
}

install() {
    $SUDO make install
}

# make install builds first: ASSERT=1 on both, or install rebuilds the release.
assert_build() {
    make -j"$JOBS" STRICT=1 ASSERT=1 && $SUDO make ASSERT=1 install
}

# A TCP port nobody listens on (and no socket in /var/run/postgresql), so
# throwaway clusters do not race other pg_virtualenv runs for 5433.
free_port() {
    local p i
    for i in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        if [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ] &&
            ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo 5433
}

# pg_virtualenv on a free port; -t keeps the cluster in a temporary directory
# even as root, so concurrent runs do not collide on /etc/postgresql/15/regress.
pgv() {
    PGPORT=$(free_port) pg_virtualenv -t "$@"
}

# The server log of the throwaway cluster this shell runs in (inside
# pg_virtualenv): the file logging_collector writes, else the log file
# pg_lsclusters names for the cluster on $PGPORT (pg_virtualenv -t keeps it in
# its temporary directory).
server_log() {
    local f
    f=$(psql -X -At -d postgres -c "SELECT CASE WHEN pg_current_logfile() LIKE '/%' THEN pg_current_logfile()
                                            ELSE current_setting('data_directory') || '/' || pg_current_logfile() END") || return 1
    if [ -z "$f" ]; then
        f=$(pg_lsclusters -h 2>/dev/null | awk -v port="$PGPORT" '$3 == port { print $7 }')
    fi
    [ -n "$f" ] && [ -r "$f" ] || return 1
    echo "$f"
}

# Fail when the server log shows a crash: a backend or worker killed by a
# signal (and the restart that follows), a PANIC, a failed assertion.
check_server_log() {
    local log
    if ! log=$(server_log); then
        echo "--- the server log could not be found"
        return 1
    fi
    if grep -nE 'terminated by signal|server process .* was terminated|PANIC:|TRAP:|hrm: internal assertion failed' "$log"; then
        echo "--- the server log shows a crash ($log)"
        return 1
    fi
    echo "--- server log: no crash ($(wc -l <"$log") lines)"
}

# make installcheck, then the server log check (in the same cluster).
installcheck_inner() {
    local rc=0
    make installcheck || rc=$?
    check_server_log || rc=1
    return "$rc"
}

# pg_regress + pgTAP on a throwaway cluster, then its server log checked for
# crashes; extra arguments go to pg_virtualenv.  If the cluster could not even
# start (pg_regress never ran), try again on another port, up to three times.
installcheck() {
    local attempt
    export -f server_log check_server_log installcheck_inner
    for attempt in 1 2 3; do
        rm -f regression.diffs regression.out
        if pgv "$@" bash -c installcheck_inner; then
            return 0
        fi
        if [ -f regression.out ]; then
            break
        fi
        echo "--- the throwaway cluster did not start (attempt $attempt), retrying"
    done
    if [ -f regression.diffs ]; then
        echo "--- regression.diffs"
        cat regression.diffs
    fi
    return 1
}

# pg_dump / pg_restore of a database with a model and a checkpoint: the
# restored copy exports the same bytes, computes the same outputs and keeps
# the generation sequence, the owner and the grants; so does a dump of the
# extension alone (pg_dump -e hrm -b, docs/security.md); dropping it leaves
# no large object.
dump_restore_inner() {
    set -euo pipefail
    local dir
    dir=$(mktemp -d)
    createdb hrm_dump_a
    psql -X -q -v ON_ERROR_STOP=1 -d hrm_dump_a <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION hrm;
\set w `base64 -w0 "$HRM_FIXTURES/sudoku-tiny.weights.safetensors"`
SELECT hrm_import('sudoku', decode(:'w', 'base64'), task => 'sudoku');
INSERT INTO hrm.checkpoint (model, step, state) VALUES ('sudoku', 5, lo_from_bytea(0, '\x0102'));
DROP ROLE IF EXISTS hrm_dump_reader;
CREATE ROLE hrm_dump_reader;
SELECT hrm_grant('sudoku', 'hrm_dump_reader');
SQL
    pg_dump -Fc -d hrm_dump_a -f "$dir/a.dump"
    createdb hrm_dump_b
    pg_restore -d hrm_dump_b "$dir/a.dump"
    local q="SELECT md5(hrm_export('sudoku')), (SELECT generation FROM hrm.model),
                    (SELECT owner = current_user AND readers = '{hrm_dump_reader}' FROM hrm.models),
                    (SELECT last_value FROM hrm.generation_seq), (SELECT count(*) FROM hrm.checkpoint),
                    (SELECT count(*) FROM pg_largeobject_metadata),
                    (SELECT md5(string_agg(logits::text || q_halt || q_continue, ',' ORDER BY segment))
                       FROM hrm_forward('sudoku', array_fill(1, ARRAY[81])))"
    local a b
    a=$(psql -X -At -v ON_ERROR_STOP=1 -d hrm_dump_a -c "$q")
    b=$(psql -X -At -v ON_ERROR_STOP=1 -d hrm_dump_b -c "$q")
    echo "original: $a"
    echo "restored: $b"
    [ "$a" = "$b" ]
    pg_dump -Fc -e hrm -b -d hrm_dump_a -f "$dir/e.dump"
    createdb hrm_dump_c
    pg_restore -d hrm_dump_c "$dir/e.dump"
    local c
    c=$(psql -X -At -v ON_ERROR_STOP=1 -d hrm_dump_c -c "$q")
    echo "extension: $c"
    [ "$a" = "$c" ]
    [ "$(psql -X -At -v ON_ERROR_STOP=1 -d hrm_dump_b \
        -c "SELECT hrm_drop_model('sudoku')" -c "SELECT count(*) FROM pg_largeobject_metadata" | tail -1)" = 0 ]
    rm -rf "$dir"
}

dump_restore() {
    export -f dump_restore_inner
    pgv bash -c dump_restore_inner
}

# Two databases in one cluster (test/two_databases.sh): the shared model
# cache, its evictions and job ids stay per database, clones included.
two_databases() {
    pgv "$@" bash test/two_databases.sh
}

# A primary and a streaming hot standby (test/replica.sh), with hrm loaded on
# demand, then preloaded: the standby serves the primary's models from its
# own shared memory, refuses every write with 25006, picks up re-imports.
replica() {
    bash test/replica.sh && bash test/replica.sh --preload
}

has_target() {
    grep -qE "^$1:" Makefile
}

# The engine against fixtures generated by the PyTorch oracle for the
# variants the reference set lacks (tools/make_fixture.py --suite).
variant_parity() {
    rm -rf "$WORK/variants"
    "$PYTHON" tools/make_fixture.py --suite "$WORK/variants" &&
        make STRICT=1 parity-all HRM_FIXTURES="$WORK/variants"
}

bash tools/install_deps.sh test || {
    echo "the test dependencies could not be installed (tools/install_deps.sh test)"
    exit 1
}

echo "hrm: all tests ($(date -u +%Y-%m-%dT%H:%M:%SZ), fixtures $HRM_FIXTURES)"

step "build (make STRICT=1)" build
step "install" install
step "no call cycles between the glue's modules (test/glue_cycles.py)" "$PYTHON" test/glue_cycles.py
step "engine tests (make test-engine)" make STRICT=1 test-engine
step "parity on every reference fixture (make parity-all)" make STRICT=1 parity-all
if [ "${SKIP_TORCH:-0}" != 1 ]; then
    step "PyTorch oracle vs the reference fixtures (test/torch/test_torch_parity.py)" \
        "$PYTHON" test/torch/test_torch_parity.py --fixtures "$HRM_FIXTURES"
    step "checkpoint converter (test/torch/test_convert.py)" "$PYTHON" test/torch/test_convert.py
    step "parity on generated variant fixtures (make_fixture.py --suite, make parity-all)" variant_parity
fi
# The ASan step below replays every fuzz target's kept corpus and fuzzes each
# for ASAN_FUZZ_SECONDS; FUZZ_SECONDS=N adds a longer make fuzz campaign.
if has_target fuzz && [ "${SKIP_FUZZ:-0}" != 1 ] && [ "$FUZZ_SECONDS" -gt 0 ]; then
    step "fuzz (make fuzz FUZZ_SECONDS=$FUZZ_SECONDS)" make fuzz FUZZ_SECONDS="$FUZZ_SECONDS"
fi
if has_target test-engine-asan && [ "${SKIP_FUZZ:-0}" != 1 ]; then
    step "engine tests and fuzz targets under ASan + UBSan (make test-engine-asan)" make -j"$JOBS" test-engine-asan
fi
step "pg_regress + pgTAP" installcheck
# From here on the extension is an assertion build (PostgreSQL's Assert in the
# glue, HRM_ASSERT in the engine; a failed one is a crash the server log check
# catches); the demo at the end builds and installs the release build again.
step "assertion build (make ASSERT=1) and install" assert_build
step "pg_regress + pgTAP, shared_preload_libraries=hrm, assertion build" installcheck -o shared_preload_libraries=hrm
step "pg_dump / pg_restore keeps models" dump_restore
step "ALTER EXTENSION hrm UPDATE from 0.1.0 (test/upgrade.sh)" pgv bash test/upgrade.sh
step "PGXN archive (make dist, test/dist.sh)" bash test/dist.sh
step "two databases in one cluster" two_databases
step "two databases in one cluster, shared_preload_libraries=hrm" two_databases -o shared_preload_libraries=hrm
step "read replica: primary + streaming hot standby (plain, then preloaded)" replica
if [ "${SKIP_DEMO:-0}" != 1 ]; then
    # one minute of training in the demo is enough to test it (the README runs 3)
    step "demo (tools/demo.sh, DEMO_MINUTES=${DEMO_MINUTES:-1})" env DEMO_MINUTES="${DEMO_MINUTES:-1}" bash tools/demo.sh
fi

echo
echo "=== summary ($(( $(date +%s) - start_all )) s)"
for s in "${failed_steps[@]+"${failed_steps[@]}"}"; do
    echo "FAILED: $s"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
