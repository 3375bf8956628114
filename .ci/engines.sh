#!/usr/bin/env bash
# Install the engines the deployment tests start (redis-server, haproxy, nginx) from Debian's
# packages, unless they are there already. The services are not started here: each test starts
# its own on loopback, so nothing listens on the packages' default ports.
set -euo pipefail
missing=()
for pair in redis-server:redis-server haproxy:haproxy nginx:nginx; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q || true
    # policy-rc.d 101: the packages' services are not started on install.
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
        $sudo chmod +x "$policy"
    fi
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
    [ -z "$policy" ] || $sudo rm -f "$policy"
fi
for engine in redis-server haproxy nginx; do
    PATH="$PATH:/usr/sbin" command -v "$engine" >/dev/null || { echo "engines: $engine missing" >&2; exit 1; }
done
echo "engines: $(redis-server --version | cut -d' ' -f3), $(/usr/sbin/haproxy -v | head -1 | cut -d' ' -f1-3), $(/usr/sbin/nginx -v 2>&1)"
