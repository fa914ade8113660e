"""Seeds for many runs from one master seed, and the common random numbers they give.

Replicate ``i`` of a batch gets the seed of the ``i``-th child of ``SeedSequence(master)``, whatever
the variant or sweep point: every variant is run on the same random numbers (docs/architecture.md,
habit 5), so differences between variants are the policy's, not the dice's. Children depend only
on their index, so the first 200 seeds of a 400-run ensemble are those of a 200-run one.
"""

from __future__ import annotations

import numpy as np

#: Seeds are kept below 2**63: the scenario schema's bound, and a signed 64-bit integer anywhere.
_SHIFT = np.uint64(1)

#: How :func:`replicate_seeds` derives the seeds, as recorded with every batch (``seed_scheme``).
SEED_SCHEME = "replicate i: SeedSequence(master_seed).spawn(runs)[i].generate_state(1, uint64)[0] >> 1"


def replicate_seeds(master_seed: int, runs: int) -> list[int]:
    """The run seed of each replicate ``0 .. runs-1`` derived from ``master_seed``."""
    if runs < 0:
        raise ValueError(f"runs must be >= 0, got {runs}")
    children = np.random.SeedSequence(int(master_seed)).spawn(runs)
    return [int(c.generate_state(1, np.uint64)[0] >> _SHIFT) for c in children]
