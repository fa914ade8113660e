#!/usr/bin/env bash
# Run every benchmark of issue 3 and update benchmarks/RESULTS.md. Run on an otherwise idle machine.
#   bash benchmarks/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=.venv/bin/python
bash benchmarks/peers/setup.sh >/dev/null   # Starsim in benchmarks/.venv-peers (idempotent)

$py benchmarks/sir_vs_starsim.py --n 100000 1000000
$py benchmarks/scale.py --people 1000000 10000000 --days 365
