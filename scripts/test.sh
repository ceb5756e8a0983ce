#!/usr/bin/env bash
# Sets up a virtual environment with logpager and its test tools, then runs the checks and
# the test suite against the real clp-s engine.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy
.venv/bin/pytest tests -q "$@"
