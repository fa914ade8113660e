#!/usr/bin/env bash
# Create the peer-benchmark venv (benchmarks/.venv-peers) and install the peer simulators into it.
# Idempotent: reuses the venv if it exists and only installs what is missing.
# Peers are never dependencies of the aftermath package; they live only in this separate venv.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${here}/../.venv-peers"
python="${PYTHON:-python3.11}"
starsim_spec="${STARSIM_SPEC:-starsim}"   # e.g. STARSIM_SPEC='starsim==3.7.2' to pin

if [[ ! -x "${venv}/bin/python" ]]; then
    echo "creating ${venv} with ${python}"
    "${python}" -m venv "${venv}"
    "${venv}/bin/python" -m pip install --quiet --upgrade pip
fi

if ! "${venv}/bin/python" -c 'import starsim' >/dev/null 2>&1; then
    echo "installing ${starsim_spec}"
    "${venv}/bin/python" -m pip install --quiet "${starsim_spec}"
fi

"${venv}/bin/python" -c 'import starsim as ss; print("starsim", ss.__version__)'
