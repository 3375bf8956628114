#!/usr/bin/env bash
# Run the official MCP conformance suite against examples/everything_server.py on a free loopback
# port, and score it (see interop/conformance.py): 0.1.16 and 0.2.0-alpha.12 at 2025-11-25, and
# 0.2.0-alpha.12 at 2026-07-28 (the per-request wire). Exit 0 when every scenario required for
# the run's spec version passes or is listed, with a reason, in interop/expected-failures.txt.
# Extra arguments go to conformance.py (--suite 0.1|0.2|0.2-2026, --scenario NAME, --server CMD).
#
# PYTHON: the interpreter with trio_mcp_http installed (default: .venv, then .ci-venv, then python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -z "${PYTHON:-}" ]]; then
    for candidate in .venv/bin/python .ci-venv/bin/python; do
        if [[ -x "$candidate" ]]; then PYTHON="$candidate"; break; fi
    done
    PYTHON="${PYTHON:-python3}"
fi
"$PYTHON" -c 'import trio_mcp_http' || { echo "conformance.sh: $PYTHON cannot import trio_mcp_http" >&2; exit 2; }
bash interop/setup.sh
exec "$PYTHON" interop/conformance.py "$@"
