#!/usr/bin/env bash
# Serves logs over MCP: sets up .venv the first time (again only when pyproject.toml
# changes), ingests the bundled real log samples into the data directory when it holds no
# archives, and runs `logpager serve` (stdio by default), which says on stderr where the
# data is and how to connect a client. Arguments go to `logpager serve`, for example
# --transport http, --data-dir DIR or --profile edge. The data directory is logpager's one
# default ($LOGPAGER_DATA_DIR, else ${XDG_DATA_HOME:-~/.local/share}/logpager), the one
# `logpager search` and `logpager demo` use too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
exec .venv/bin/logpager serve --samples "$@"
