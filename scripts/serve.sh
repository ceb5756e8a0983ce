#!/usr/bin/env bash
# Sets up a virtual environment, ingests the bundled real log samples into ./.data (once),
# and serves them over MCP. Arguments are passed to `logpager serve` (default: stdio).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/logpager serve --samples --data-dir "${LOGPAGER_DATA_DIR:-.data}" "$@"
