r"""Where ``z = norm.isf(p)`` is quantized: the float64 spacing of p just below 1.

nistats' z of a one-sided p is ``norm.isf(p)`` (``z_method='isf_clipped'``). Below 1
the float64 spacing is :math:`u = 2^{-53}`, so for :math:`p > 1/2` (negative z) p can
only take the values :math:`1 - k u`, and z moves in steps of :math:`u / \varphi(z)`:
1.2e-5 at z = -7.0, 2.1e-4 at -7.39, 0.084 at the last step, -8.126 -> -8.210. Which
level a voxel takes depends on the last bit of p, hence on the scipy version that
computed ``t.sf``. ``refglm compare --explain`` counts such voxels as quantized tails
(:mod:`refglm.compare.causes`); ``refglm explain-voxel`` prints where the voxel stands
(:func:`refglm.first_level.trace_voxel`).

Arrays in, arrays out (numpy; scipy on use).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "ULP_BELOW_ONE",
    "normal_pdf",
    "quantization_step",
    "quantization_onset",
    "spacings_from_one",
    "step_below",
]

#: The float64 spacing just below 1.0: ``np.spacing(1.0) / 2`` = 2**-53 = 1.11e-16.
ULP_BELOW_ONE = 2.0**-53


def normal_pdf(z) -> np.ndarray:
    r""":math:`\varphi(z) = e^{-z^2/2} / \sqrt{2\pi}`."""
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def quantization_step(z) -> np.ndarray:
    r"""The step of ``z = norm.isf(p)`` for one float64 spacing of p near 1.

    .. math:: \delta z(z) = \frac{2^{-53}}{\varphi(z)}

    (for :math:`p > 1/2`, i.e. :math:`z < 0`, where p can only be :math:`1 - k\,2^{-53}`):
    1.2e-5 at z = -7.0, 2.0e-4 at -7.39, 0.084 at the last step, -8.21.
    """
    return ULP_BELOW_ONE / normal_pdf(z)


def quantization_onset(tolerance: float = 1e-6) -> tuple[float, float]:
    r"""Where the quantization of z begins: ``(z*, k*)``.

    :math:`z^*` solves :math:`2^{-53}/\varphi(z^*) = \tau` (bisection): below it one
    spacing of p moves z by more than the tolerance :math:`\tau`; there
    :math:`1 - p = k^* 2^{-53}`, with :math:`1 - p = \Phi(z^*)` (from ``math.erfc``).
    At :math:`\tau = 10^{-6}`: :math:`z^* = -6.6336`, :math:`k^* = 147532`. It does not
    depend on the degrees of freedom: the quantization is that of p, whatever
    statistic p came from.
    """
    lo, hi = -40.0, 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if ULP_BELOW_ONE / float(normal_pdf(mid)) > tolerance:
            lo = mid
        else:
            hi = mid
    z = 0.5 * (lo + hi)
    return z, 0.5 * math.erfc(-z / math.sqrt(2.0)) / ULP_BELOW_ONE


def spacings_from_one(p) -> np.ndarray:
    """:math:`(1 - p) / 2^{-53}`: how many float64 spacings p lies below 1."""
    return (1.0 - np.asarray(p, dtype=np.float64)) / ULP_BELOW_ONE


def step_below(p) -> np.ndarray:
    r"""The exact step of z from p to the next float64 below it, for :math:`p > 1/2`.

    .. math:: \delta z = \Phi^{-1}(1 - (p - 2^{-53})) - \Phi^{-1}(1 - p)

    (``norm.isf``): the size of the quantization step a tail voxel sits on, 0.0836 at
    the last one (p = 1 - 2**-53, z = -8.2095 -> -8.1259); :func:`quantization_step`
    is its local, differential form. NaN for :math:`p \le 1/2`.
    """
    from scipy import stats

    p = np.asarray(p, dtype=np.float64)
    high = p > 0.5
    safe = np.where(high, p, 1.0)
    step = stats.norm.isf(safe - ULP_BELOW_ONE) - stats.norm.isf(safe)
    return np.where(high, step, np.nan)
