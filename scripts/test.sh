#!/usr/bin/env bash
# Sets up a virtual environment with logpager and its test tools, then runs the checks and
# the test suite against the real clp-s engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh dev
bash scripts/setup-redis.sh  # the Redis session store's tests run real Redis servers
bash scripts/setup-node.sh || true  # if it fails, tests/test_inspector_cli.py says why
.venv/bin/ruff check src tests benchmarks harness
.venv/bin/mypy
.venv/bin/pytest tests -q "$@"
