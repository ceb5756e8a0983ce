#!/usr/bin/env bash
# Sets up a virtual environment with logpager and its test tools, then runs the checks and
# the test suite against the real clp-s engine.
# Usage: scripts/test.sh [--quick] [PYTEST ARGS...]
#   --quick  skips the tests marked slow (soak tests, wheel build, MCP Inspector and the
#            conformance suite) and the benchmark gate; CI runs the full suite, then the
#            gate's quick check (scripts/bench.sh --check --quick, ~2 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
if [ "${1:-}" = "--quick" ]; then
    quick=1
    shift
fi
bash scripts/setup-venv.sh dev
bash scripts/setup-redis.sh  # the Redis session store's tests run real Redis servers
if [ "$quick" = 0 ]; then
    bash scripts/setup-node.sh || true  # if it fails, tests/test_inspector_cli.py says why
fi
.venv/bin/ruff check src tests benchmarks harness
.venv/bin/mypy
if [ "$quick" = 1 ]; then
    .venv/bin/pytest tests -q -m "not slow" "$@"
else
    .venv/bin/pytest tests -q "$@"
    bash scripts/bench.sh --check --quick
fi
