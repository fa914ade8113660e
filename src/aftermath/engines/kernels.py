"""Numba kernels over the reaction network, shared by the ODE and SSA engines.

Pure functions: arrays in, arrays out. ``tests/test_kernels.py`` runs each against the same code
with ``NUMBA_DISABLE_JIT=1`` on small inputs (the project pins Numba away from a known miscompile).
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def zone_denominators(x, species_zone, living, n_zones, mass_action):
    """N per zone: living bodies (frequency mixing) or 1 (mass action)."""
    den = np.zeros(n_zones)
    if mass_action:
        den[:] = 1.0
        return den
    for i in range(x.shape[0]):
        if living[i]:
            den[species_zone[i]] += x[i]
    return den


@nb.njit(cache=True)
def propensities(x, coef, reactant, pressure, zone, p_ptr, p_idx, p_w, den, out):
    """Fill ``out[r]`` with reaction r's propensity (see ``aftermath.model.network``)."""
    n_p = p_ptr.shape[0] - 1
    pv = np.empty(n_p)
    for p in range(n_p):
        acc = 0.0
        for j in range(p_ptr[p], p_ptr[p + 1]):
            acc += p_w[j] * x[p_idx[j]]
        pv[p] = acc
    for r in range(reactant.shape[0]):
        a = coef[r]
        if a == 0.0:
            out[r] = 0.0
            continue
        if reactant[r] >= 0:
            xr = x[reactant[r]]
            a *= xr if xr > 0.0 else 0.0
        if pressure[r] >= 0:
            d = den[zone[r]]
            pr = pv[pressure[r]]
            a = a * pr / d if d > 0.0 and pr > 0.0 else 0.0
        out[r] = a


@nb.njit(cache=True)
def ode_rhs(x, coef, reactant, product, pressure, zone, p_ptr, p_idx, p_w, species_zone, living,
            n_zones, mass_action, flow_index, route_index, n_species, n_flow_bins, dx):
    """Right-hand side of the mean-field ODE, and of the flow accumulators.

    ``x`` and ``dx`` hold the species, then ``n_flow_bins`` flow accumulators, then the route
    accumulators.
    """
    xs = x[:n_species]
    den = zone_denominators(xs, species_zone, living, n_zones, mass_action)
    a = np.empty(reactant.shape[0])
    propensities(xs, coef, reactant, pressure, zone, p_ptr, p_idx, p_w, den, a)
    dx[:] = 0.0
    route0 = n_species + n_flow_bins
    for r in range(reactant.shape[0]):
        ar = a[r]
        if ar == 0.0:
            continue
        if reactant[r] >= 0:
            dx[reactant[r]] -= ar
        if product[r] >= 0:
            dx[product[r]] += ar
        for t in range(flow_index.shape[1]):
            fi = flow_index[r, t]
            if fi >= 0:
                dx[n_species + fi] += ar
        if route_index[r] >= 0:
            dx[route0 + route_index[r]] += ar
    return dx
