#!/usr/bin/env bash
# One command for the benchmarks: builds benchmarks/.venv (the official SDK, uvicorn, py-spy and
# this repository, editable), installs wrk if missing, then runs the harness pinned to the
# load-generator CPU. Full run about 30 minutes (hard limit 45), --quick under 4 minutes;
# results in benchmarks/results/latest.md (+ latest.json and the plots).
#   benchmarks/run.sh [--quick] [--only KEY,...] [--skip throughput,modern,input,churn,idle,streams,proxy]
#   benchmarks/run.sh --profile ours-sse [--scenario throughput|modern|input|churn|idle]
#   benchmarks/run.sh --render benchmarks/results/latest.json   # report + plots again
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

MISSING=""
command -v wrk >/dev/null 2>&1 || MISSING="wrk"
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || MISSING="$MISSING haproxy"
if [ -n "$MISSING" ]; then
    echo "installing$MISSING (apt)..." >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    # shellcheck disable=SC2086  # one word per package
    $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq $MISSING >/dev/null
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "warning: fewer than 2 CPUs; server and load generator will share one" >&2
    export BENCH_SERVER_CPU=0 BENCH_LOAD_CPU=0
fi

STAMP="$VENV/.installed"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$HERE/requirements.txt" -nt "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    echo "setting up $VENV..." >&2
    timeout 600 "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -r "$HERE/requirements.txt" -e "$ROOT"
    touch "$STAMP"
fi

# The harness stops by itself (per-step time budget); this is a last-resort bound.
if [[ " $* " == *" --quick "* ]]; then LIMIT=240; else LIMIT=2700; fi
exec timeout -k 10 "$LIMIT" taskset -c "${BENCH_LOAD_CPU:-1}" "$VENV/bin/python" "$HERE/harness.py" "$@"
