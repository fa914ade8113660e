#!/usr/bin/env bash
# Run every benchmark of issues 3 and 14 and update benchmarks/RESULTS.md. Run on an otherwise idle
# machine (each table records the load and the cores other processes kept busy).
#   bash benchmarks/run.sh            # everything: about 25 minutes on 2 cores
#   QUICK=1 bash benchmarks/run.sh    # smaller sizes and horizons, for a first look (about 5 minutes)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=.venv/bin/python
bash benchmarks/peers/setup.sh >/dev/null                                  # Starsim in benchmarks/.venv-peers
bash benchmarks/peers/laser_setup.sh benchmarks/.venv-laser >/dev/null     # LASER in benchmarks/.venv-laser
uptime
if [[ -n "${QUICK:-}" ]]; then
    $py benchmarks/sir_vs_peers.py --n 100000 1000000 --threads 1 2
    $py benchmarks/scale.py --scenario hyosan --people 1000000 --threads 1 2 --days 60 --no-jit
    $py benchmarks/scale.py --scenario korea --people 0 --threads 2 --days 30 --no-jit --modes events
else
    $py benchmarks/sir_vs_peers.py --n 100000 1000000 --threads 1 2
    $py benchmarks/scale.py --scenario hyosan --people 1000000 10000000 --threads 1 2 --days 365
    $py benchmarks/scale.py --scenario korea --people 0 --threads 2 --days 365 --no-jit --modes events scan
fi
uptime
