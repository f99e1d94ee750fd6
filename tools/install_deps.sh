#!/usr/bin/env bash
# Install the Debian 12 packages hrm needs, only those that are missing.
#
#   bash tools/install_deps.sh [demo|test|docs ...] [--check]
#
#   demo   build, install and run the extension on a throwaway cluster:
#          postgresql-15 postgresql-server-dev-15 libopenblas-dev
#          build-essential pkg-config
#   test   demo's packages, plus postgresql-15-pgtap (the pgTAP suites),
#          clang (make fuzz) and python3-torch python3-numpy python3-yaml
#          (the PyTorch oracle, the fixture generator and the checkpoint
#          converter); SKIP_TORCH=1 leaves out the Python packages and
#          SKIP_FUZZ=1 leaves out clang, as in test/run_all.sh
#   docs   python3-matplotlib (tools/plot_training.py and bench/plot_curve.py
#          draw the training curves) and librsvg2-bin (rsvg-convert turns
#          the SVG of hrm_trace_svg / hrm_grid_svg into the PNGs of docs/)
#
# With no group, demo.  Checks each package with dpkg-query; when every one is
# installed it does nothing (no network, no root needed).  Otherwise it runs
# apt-get update and apt-get install --no-install-recommends for the missing
# ones, as root or through sudo.  --check only lists what is missing (exit 1
# if anything is).  HRM_SKIP_DEPS=1 skips this script; on a system without
# dpkg it prints the list and leaves the installation to you.
set -euo pipefail

groups=()
check_only=0
for a in "$@"; do
    case "$a" in
        demo | test | docs) groups+=("$a") ;;
        --check) check_only=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "install_deps.sh: unknown argument \"$a\" (expected demo, test, docs or --check)" >&2
            exit 2
            ;;
    esac
done
[ ${#groups[@]} -gt 0 ] || groups=(demo)

if [ "${HRM_SKIP_DEPS:-0}" = 1 ]; then
    exit 0
fi

demo_pkgs=(postgresql-15 postgresql-server-dev-15 libopenblas-dev build-essential pkg-config)
wanted=()
for g in "${groups[@]}"; do
    case "$g" in
        demo) wanted+=("${demo_pkgs[@]}") ;;
        test)
            wanted+=("${demo_pkgs[@]}" postgresql-15-pgtap)
            [ "${SKIP_FUZZ:-0}" = 1 ] || wanted+=(clang)
            [ "${SKIP_TORCH:-0}" = 1 ] || wanted+=(python3-torch python3-numpy python3-yaml)
            ;;
        docs) wanted+=(python3-matplotlib librsvg2-bin) ;;
    esac
done

if ! command -v dpkg-query >/dev/null; then
    echo "install_deps.sh: no dpkg-query, so not a Debian system; install the equivalents of:" >&2
    echo "  ${wanted[*]}" >&2
    exit 0
fi

missing=()
declare -A seen=()
for p in "${wanted[@]}"; do
    [ -z "${seen[$p]+x}" ] || continue
    seen[$p]=1
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install_deps.sh: the ${groups[*]} packages are installed"
    exit 0
fi
if [ "$check_only" = 1 ]; then
    echo "install_deps.sh: missing for ${groups[*]}: ${missing[*]}"
    exit 1
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then
        SUDO=(sudo)
    else
        echo "install_deps.sh: missing packages: ${missing[*]}" >&2
        echo "run this as root, or install sudo, or install them yourself (apt-get install ${missing[*]})" >&2
        exit 1
    fi
fi

echo "install_deps.sh: installing ${missing[*]}"
# env: sudo does not pass the caller's environment on
"${SUDO[@]+"${SUDO[@]}"}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]+"${SUDO[@]}"}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
