#!/usr/bin/env bash
# Sets up a virtual environment, ingests the bundled real log samples into ./.data (once),
# and serves them over MCP. Arguments are passed to `logpager serve` (default: stdio).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
exec .venv/bin/logpager serve --samples --data-dir "${LOGPAGER_DATA_DIR:-.data}" "$@"
