#!/usr/bin/env bash
# Runs logpager's gated benchmark suite and prints its figures (ratios measured within one
# run); --check compares them with benchmarks/baseline.json and fails naming each figure
# worse than its tolerance, --update rewrites the baseline on purpose. --help says more.
# Usage: scripts/bench.sh [--quick] [--check | --update | --results] [--help]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    bash scripts/setup-venv.sh dev
fi
exec .venv/bin/python -m benchmarks.gate_run "$@"
