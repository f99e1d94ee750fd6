#!/usr/bin/env bash
# Run every test of hrm: the "run all tests" command (what .ci/run calls once
# the packages are installed).
#
#   bash test/run_all.sh
#
# Steps: strict build (-Werror) and install, engine unit tests, parity on
# every shared fixture pair, fuzzing (when the Makefile has the target), then
# the pg_regress + pgTAP suites on throwaway clusters (pg_virtualenv), once
# plain and once with shared_preload_libraries=hrm, and the README's demo.
# Every step runs even when an earlier one failed; the last line is
# "N passed, N failed" and the exit status is non-zero on any failure.
#
# Environment: HRM_FIXTURES (default ../shared/fixtures), FUZZ_SECONDS
# (default 20 per target), SKIP_FUZZ=1, SKIP_DEMO=1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export HRM_FIXTURES=${HRM_FIXTURES:-$(cd "$ROOT/.." && pwd)/shared/fixtures}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then
    SUDO="sudo"
fi
# Parallel compilation; engine tests and parity take their own time.
JOBS=$(nproc 2>/dev/null || echo 2)

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

# pg_regress + pgTAP on a throwaway cluster; extra arguments go to
# pg_virtualenv.  -t keeps the cluster in a temporary directory even as
# root, so concurrent runs do not collide on /etc/postgresql/15/regress.
installcheck() {
    rm -f regression.diffs regression.out
    if pg_virtualenv -t "$@" make installcheck; then
        return 0
    fi
    if [ -f regression.diffs ]; then
        echo "--- regression.diffs"
        cat regression.diffs
    fi
    return 1
}

has_target() {
    grep -qE "^$1:" Makefile
}

echo "hrm: all tests ($(date -u +%Y-%m-%dT%H:%M:%SZ), fixtures $HRM_FIXTURES)"

step "build (make STRICT=1)" build
step "install" install
step "engine tests (make test-engine)" make STRICT=1 test-engine
step "parity on every shared fixture (make parity-all)" make STRICT=1 parity-all
if has_target fuzz && [ "${SKIP_FUZZ:-0}" != 1 ]; then
    step "fuzz (make fuzz FUZZ_SECONDS=$FUZZ_SECONDS)" make fuzz FUZZ_SECONDS="$FUZZ_SECONDS"
fi
step "pg_regress + pgTAP" installcheck
step "pg_regress + pgTAP, shared_preload_libraries=hrm" installcheck -o shared_preload_libraries=hrm
if [ "${SKIP_DEMO:-0}" != 1 ]; then
    step "demo (tools/demo.sh)" bash tools/demo.sh
fi

echo
echo "=== summary ($(( $(date +%s) - start_all )) s)"
for s in "${failed_steps[@]+"${failed_steps[@]}"}"; do
    echo "FAILED: $s"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
