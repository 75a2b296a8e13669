r"""Random field theory as SPM12 computes it: smoothness, resels and height thresholds.

The convention's ``height_rule`` (:data:`HEIGHT_RULES`) chooses how a height threshold in
the statistic's own units is computed (``FirstLevelModel.height_threshold``):

- ``'scipy'`` (nistats, nilearn): scipy's quantiles of the t or F distribution;
  family-wise error by Bonferroni over the mask's voxels;
- ``'spm'`` (SPM12): SPM's own quantiles (``spm_u``: a bisection on the incomplete
  beta function, :func:`spm_invTcdf`, :func:`spm_invFcdf`), and family-wise error by
  ``spm_uc``: the random-field threshold (:func:`spm_uc_RF`) from the smoothness of
  the standardised residuals (:func:`spm_est_smoothness`) and the resel counts of the
  mask (:func:`spm_resels_vol`), or Bonferroni's when that is lower (:func:`spm_uc`).

Sources: SPM12 r7771 ``spm_est_smoothness.m``, ``src/spm_vol_utils.c``,
``src/spm_resels_vol.c``, ``spm_u.m``, ``spm_uc.m``, ``spm_uc_RF.m``, ``spm_uc_Bonf.m``,
``spm_P_RF.m``, ``spm_ECdensity.m``, ``spm_Tcdf.m``, ``spm_Fcdf.m``, ``spm_invTcdf.m``,
``spm_invFcdf.m``, ``spm_invBcdf.m``.

Arrays in, arrays out; numpy at import (scipy's special functions on use).
"""

from __future__ import annotations

import numpy as np

from refglm._validate import check_alpha
from refglm.exceptions import InputError

__all__ = [
    "HEIGHT_RULES",
    "spm_est_smoothness",
    "spm_resels_vol",
    "spm_invBcdf",
    "spm_invTcdf",
    "spm_invFcdf",
    "spm_Tcdf",
    "spm_Fcdf",
    "spm_ECdensity",
    "spm_P_RF",
    "spm_u",
    "spm_uc_RF",
    "spm_uc_Bonf",
    "spm_uc",
    "height_threshold",
]

#: ``height_rule``: scipy's quantiles with Bonferroni, or SPM12's spm_u / spm_uc (RFT).
HEIGHT_RULES = ("scipy", "spm")

_EPS = float(np.finfo(np.float64).eps)


def _seqsum(x, axis=None):
    """A left-to-right sum (MATLAB's ``sum``): ``np.add.accumulate``'s last entry."""
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        x = x.ravel()
        return float(np.add.accumulate(x)[-1]) if x.size else 0.0
    return np.take(np.add.accumulate(x, axis=axis), -1, axis=axis)


# ------------------------------------------------------------------ smoothness, resels


def spm_est_smoothness(std_resid, mask, n_scans: int, df: float, columns=None) -> dict:
    r"""Smoothness (FWHM in voxels) of standardised residuals, SPM12 ``spm_est_smoothness.m``.

    For each residual image :math:`r` the gradient at a voxel is the forward difference
    :math:`\partial_x r = r(x + 1) - r(x)` (0 past the last voxel of an axis), as
    ``spm_sample_vol(..., 1)`` returns it; it is NaN, and the voxel left out, when any
    of the 8 corners of the voxel's forward cube is outside the mask (the residual
    images are NaN there). With :math:`\Lambda = \langle \nabla r \nabla r^T\rangle\, n/\nu`
    averaged over the residual images:

    .. math::
        \mathrm{RPV} = \sqrt{|\Lambda| / (4\log 2)^3},\qquad
        \mathrm{resel}_{xyz} = \sqrt{\mathrm{diag}(\Lambda) / (4 \log 2)},\qquad
        \mathrm{FWHM} = 1 \Big/ \Big(\overline{\mathrm{RPV}}^{1/3}\,
        \frac{\overline{\mathrm{resel}}_{xyz}}{\prod \overline{\mathrm{resel}}_{xyz}^{1/3}}\Big)

    the means over the voxels whose sum of squares is finite and at least
    :math:`\sqrt{\epsilon}`.
    # SPM12 spm_est_smoothness.m lines 160-256 (L = L*(n/edf); RESEL = resel_img^(1/D)*
    # (resel_xyz/prod(resel_xyz)^(1/D)); FWHM = 1./RESEL); src/spm_vol_utils.c lines
    # 363-377 (NaN corners); no non-stationary smoothing (stats.rft.nonstat = 0)

    Parameters
    ----------
    std_resid : ndarray (n_res, n_voxels)
        Standardised residuals at the mask voxels, in the Fortran order of ``mask``
        (SPM's ``ResI``).
    mask : ndarray of bool, 3-D
    n_scans : int
        SPM's ``nScan`` (all scans, not only those of ``std_resid``).
    df : float
        The df that standardised the residuals, :math:`n - \mathrm{rank}(KWX)`.
    columns : array of int, optional
        The column of ``std_resid`` that holds each mask voxel, the voxels in Fortran
        order (default: the columns are in that order). Lets a caller whose residuals
        are in another voxel order pass them without reordering a copy.

    Returns
    -------
    dict
        ``FWHM`` (3,) in voxels, ``RPV`` (n_voxels,) resels per voxel (NaN where left out).
    """
    mask = np.asarray(mask, dtype=bool)
    dim = mask.shape
    if len(dim) != 3 or sum(d == 1 for d in dim):
        raise InputError(
            f"mask: expected a 3-D volume of more than one voxel per axis, found shape {dim}."
        )
    idx = np.flatnonzero(mask.ravel(order="F"))
    ix, iy, iz = np.unravel_index(idx, dim, order="F")
    nx = np.minimum(ix + 1, dim[0] - 1)
    ny = np.minimum(iy + 1, dim[1] - 1)
    nz = np.minimum(iz + 1, dim[2] - 1)
    valid = np.ones(idx.size, dtype=bool)
    for a in (ix, nx):
        for b in (iy, ny):
            for c in (iz, nz):
                valid &= mask[a, b, c]
    position = np.full(int(np.prod(dim)), -1, dtype=np.int64)
    position[idx] = np.arange(idx.size)

    def at(a, b, c):
        return position[np.ravel_multi_index((a, b, c), dim, order="F")]

    kept = np.flatnonzero(valid)
    px, py, pz = at(nx, iy, iz)[kept], at(ix, ny, iz)[kept], at(ix, iy, nz)[kept]
    here = kept
    if columns is not None:  # positions in the Fortran order -> columns of std_resid
        columns = np.asarray(columns, dtype=np.intp)
        here, px, py, pz = columns[kept], columns[px], columns[py], columns[pz]
    sums = {key: np.zeros(kept.size) for key in ("xx", "xy", "yy", "xz", "yz", "zz", "ss")}
    std_resid = np.asarray(std_resid, dtype=np.float64)
    # the residual images one after another (each sum in image order); every product
    # into one reused buffer: no allocation per image
    d, dx, dy, dz, product = (np.empty(kept.size) for _ in range(5))
    pairs = [("ss", d, d), ("xx", dx, dx), ("xy", dx, dy), ("yy", dy, dy)]
    pairs += [("xz", dx, dz), ("yz", dy, dz), ("zz", dz, dz)]
    for r in std_resid:
        np.take(r, here, out=d)
        for gradient, neighbour in ((dx, px), (dy, py), (dz, pz)):
            np.take(r, neighbour, out=gradient)
            gradient -= d  # r(x + 1) - r(x)
        for key, a, b in pairs:
            sums[key] += np.multiply(a, b, out=product)
    scale = n_scans / df
    n_res = std_resid.shape[0]
    Lxx, Lxy, Lyy, Lxz, Lyz, Lzz = (
        (sums[k] / n_res) * scale for k in ("xx", "xy", "yy", "xz", "yz", "zz")
    )
    det = (
        Lxx * Lyy * Lzz + Lxy * Lyz * Lxz * 2 - Lxx * Lyz * Lyz - Lxy * Lxy * Lzz - Lxz * Lyy * Lxz
    )
    det[det < 0] = 0
    resel_img = np.sqrt(det / (4 * np.log(2)) ** 3)
    resel_xyz = np.sqrt(np.column_stack([Lxx, Lyy, Lzz]) / (4 * np.log(2)))
    rpv = np.full(idx.size, np.nan)
    rpv[kept] = resel_img
    ok = ~(np.isnan(sums["ss"]) | (sums["ss"] < np.sqrt(_EPS)))
    mean_img = _seqsum(resel_img[ok]) / np.count_nonzero(ok)
    mean_xyz = _seqsum(resel_xyz[ok], axis=0) / np.count_nonzero(ok)
    resel = mean_img ** (1 / 3) * (mean_xyz / np.prod(mean_xyz) ** (1 / 3))
    fwhm = 1.0 / resel
    fwhm[np.isnan(fwhm)] = 0
    fwhm[fwhm == 0] = 1
    return dict(FWHM=fwhm, RPV=rpv)


def spm_resels_vol(mask, fwhm) -> np.ndarray:
    r"""Resel counts :math:`R = (R_0, R_1, R_2, R_3)` of a mask, SPM12 ``src/spm_resels_vol.c``.

    With P points, E edges, F faces and C cubes of the voxel lattice inside the mask
    (Worsley et al. 1996) and :math:`r = 1/\mathrm{FWHM}`:

    .. math::
        R_0 &= P - \textstyle\sum E + \sum F - C\\
        R_1 &= (E_x - F_{xy} - F_{xz} + C)\,r_x + (E_y - F_{xy} - F_{yz} + C)\,r_y
               + (E_z - F_{xz} - F_{yz} + C)\,r_z\\
        R_2 &= (F_{xy} - C)\,r_x r_y + (F_{xz} - C)\,r_x r_z + (F_{yz} - C)\,r_y r_z\\
        R_3 &= C\, r_x r_y r_z

    # SPM12 src/spm_resels_vol.c (a zero-padded previous plane); spm_est_smoothness.m line 279
    """
    m = np.asarray(mask, dtype=bool)
    P = np.zeros(tuple(s + 1 for s in m.shape), dtype=bool)
    P[1:, 1:, 1:] = m
    c, cx, cy, cxy = P[1:, 1:, 1:], P[:-1, 1:, 1:], P[1:, :-1, 1:], P[:-1, :-1, 1:]
    pz, pzx, pzy, pzxy = P[1:, 1:, :-1], P[:-1, 1:, :-1], P[1:, :-1, :-1], P[:-1, :-1, :-1]

    def count(a):
        return int(np.count_nonzero(a))

    points = count(c)
    ex, ey, ez = count(c & cx), count(c & cy), count(c & pz)
    fxy, fxz, fyz = count(c & cx & cy & cxy), count(c & cx & pz & pzx), count(c & cy & pz & pzy)
    cubes = count(c & cx & cy & cxy & pz & pzx & pzy & pzxy)
    r = 1.0 / np.asarray(fwhm, dtype=np.float64)
    R0 = points - (ex + ey + ez) + (fxy + fxz + fyz) - cubes
    R1 = (
        (ex - fxy - fxz + cubes) * r[0]
        + (ey - fxy - fyz + cubes) * r[1]
        + (ez - fxz - fyz + cubes) * r[2]
    )
    R2 = (fxy - cubes) * r[0] * r[1] + (fxz - cubes) * r[0] * r[2] + (fyz - cubes) * r[1] * r[2]
    R3 = cubes * r[0] * r[1] * r[2]
    return np.array([float(R0), R1, R2, R3])


# ------------------------------------------------------- distributions as SPM computes them


def spm_invBcdf(F: float, v: float, w: float, tol: float = 1e-8, max_it: int = 10000) -> float:
    r"""The inverse Beta cdf by bisection on x to ``tol``, SPM12 ``spm_invBcdf.m``.

    Not the exact quantile: SPM's thresholds are 1.8e-8 to 2.4e-8 from scipy's.
    # SPM12 spm_invBcdf.m lines 58-115 (a = 0, b = 1, halve until b - a <= 1e-8)
    """
    from scipy.special import betainc  # on use: the module loads with numpy only

    if F == 1:
        return 1.0
    if F == 0:
        return 0.0
    a, b = 0.0, 1.0
    fa = a - F
    x = a + 0.5
    for _ in range(max_it):
        fx = betainc(v, w, x) - F
        if fa * fx > 0:
            a, fa = x, fx
        else:
            b = x
        x = a + (b - a) / 2
        if not (b - a) > tol:
            break
    return float(x)


def spm_invTcdf(F: float, v: float) -> float:
    r"""The inverse Student t cdf, SPM12 ``spm_invTcdf.m`` (through :func:`spm_invBcdf`).

    .. math:: x = \pm\sqrt{v / B^{-1}(2\min(F, 1 - F); v/2, 1/2) - v}
    """
    if F == 0:
        return -np.inf
    if F == 1:
        return np.inf
    if v == 1:
        return float(np.tan(np.pi * (F - 0.5)))
    if F == 0.5:
        return 0.0
    pos = 1.0 if F > 0.5 else 0.0
    bQ = spm_invBcdf(2 * (pos - (pos * 2 - 1) * F), v / 2, 0.5)
    return float((pos * 2 - 1) * np.sqrt(v / bQ - v))


def spm_invFcdf(F: float, v: float, w: float) -> float:
    r"""The inverse F cdf, SPM12 ``spm_invFcdf.m``.

    .. math:: x = (w / B^{-1}(1 - F; w/2, v/2) - w)/v
    """
    if F == 1:
        return np.inf
    bQ = spm_invBcdf(1 - F, w / 2, v / 2)
    return float((w / bQ - w) / v)


def spm_Tcdf(x: float, v: float) -> float:
    r"""The Student t cdf, SPM12 ``spm_Tcdf.m``.

    .. math:: F(x) = 1 - \tfrac12 I_{v/(v + x^2)}(v/2, 1/2), \quad x > 0
    """
    from scipy.special import betainc

    if x == 0:
        return 0.5
    if v == 1:
        return float(0.5 + np.arctan(x) / np.pi)
    pos = 1.0 if x > 0 else 0.0
    return float(pos - (pos * 2 - 1) * 0.5 * betainc(v / 2, 0.5, v / (v + x**2)))


def spm_Fcdf(x: float, v: float, w: float) -> float:
    r"""The F cdf, SPM12 ``spm_Fcdf.m``: :math:`1 - I_{w/(w + v x)}(w/2, v/2)`."""
    from scipy.special import betainc

    if x <= 0:
        return 0.0
    return float(1 - betainc(w / 2, v / 2, w / (w + v * x)))


def _spm_Ncdf(x: float) -> float:
    from scipy.special import erfc

    return float(0.5 * erfc(-x / np.sqrt(2)))


def spm_ECdensity(STAT: str, t: float, df) -> np.ndarray:
    r"""The Euler characteristic densities :math:`\rho_0 .. \rho_3`, SPM12 ``spm_ECdensity.m``.

    For 'Z', 'T' (df = (., v)) and 'F' (df = (k, v)) fields, at the height ``t``.
    """
    from scipy.special import gammaln

    t = float(t)
    a = 4 * np.log(2)
    if STAT == "Z":
        b = np.exp(-(t**2) / 2)
        return np.array(
            [
                1 - _spm_Ncdf(t),
                a**0.5 / (2 * np.pi) * b,
                a / ((2 * np.pi) ** 1.5) * b * t,
                a**1.5 / ((2 * np.pi) ** 2) * b * (t**2 - 1),
            ]
        )
    if STAT == "T":
        v = df[1]
        b = np.exp(gammaln((v + 1) / 2) - gammaln(v / 2))
        c = (1 + t**2 / v) ** ((1 - v) / 2)
        return np.array(
            [
                1 - spm_Tcdf(t, v),
                a**0.5 / (2 * np.pi) * c,
                a / ((2 * np.pi) ** 1.5) * c * t / ((v / 2) ** 0.5) * b,
                a**1.5 / ((2 * np.pi) ** 2) * c * ((v - 1) * (t**2) / v - 1),
            ]
        )
    if STAT == "F":
        k, v = df[0], df[1]
        a = (4 * np.log(2)) / (2 * np.pi)
        b = gammaln(v / 2) + gammaln(k / 2)
        kt = k * t / v
        return np.array(
            [
                1 - spm_Fcdf(t, k, v),
                a**0.5
                * np.exp(gammaln((v + k - 1) / 2) - b)
                * 2**0.5
                * kt ** (0.5 * (k - 1))
                * (1 + kt) ** (-0.5 * (v + k - 2)),
                a
                * np.exp(gammaln((v + k - 2) / 2) - b)
                * kt ** (0.5 * (k - 2))
                * (1 + kt) ** (-0.5 * (v + k - 2))
                * ((v - 1) * kt - (k - 1)),
                a**1.5
                * np.exp(gammaln((v + k - 3) / 2) - b)
                * 2 ** (-0.5)
                * kt ** (0.5 * (k - 3))
                * (1 + kt) ** (-0.5 * (v + k - 2))
                * ((v - 1) * (v - 2) * kt**2 - (2 * v * k - v - k - 1) * kt + (k - 1) * (k - 2)),
            ]
        )
    raise InputError(f"STAT: expected 'Z', 'T' or 'F', found {STAT!r}.")


def _gammainc_lower(x: float, a: float) -> float:
    """Octave's ``gammainc(x, a)`` (lower, regularised), with its a == 1 branch."""
    if a == 1:
        return float(-np.expm1(-x) if abs(x) < 0.5 else 1 - np.exp(-x))
    from scipy.special import gammainc

    return float(gammainc(a, x))


def spm_P_RF(c: int, k: float, Z: float, df, STAT: str, R, n: int):
    r"""Probability of c or more clusters of k or more resels above Z, SPM12 ``spm_P_RF.m``.

    .. math::
        E_c = \sum_d \frac{R_d}{G_d} P_d,\qquad
        P = \mathrm{triu}(\mathrm{toeplitz}(\rho G))^n_{1,:},
        \qquad \Pr = 1 - F_{\mathrm{Poisson}}(c - 1;\ (E_c + \epsilon)\,p_k)

    with :math:`G_d = \sqrt\pi / \Gamma(d/2)` and :math:`\rho` the EC densities.

    Returns
    -------
    P, p, Ec, Ek : float
        SPM's four outputs (P the probability, Ec the expected Euler characteristic).
    """
    from scipy.special import gamma

    R = np.asarray(R, dtype=np.float64).ravel()
    D = int(np.flatnonzero(R)[-1]) + 1
    R = R[:D]
    G = np.sqrt(np.pi) / gamma(np.arange(1, D + 1) / 2)
    EC = np.maximum(spm_ECdensity(STAT, Z, df)[:D], _EPS)
    a = EC * G
    T = np.triu(np.array([[a[abs(i - j)] for j in range(D)] for i in range(D)]))
    P = np.linalg.matrix_power(T, int(n))[0, :]
    EM = (R / G) * P
    Ec = _seqsum(EM)
    EN = P[0] * R[D - 1]
    Ek = EN / EM[D - 1]
    D = D - 1
    if not k or not D:
        p = 1.0
    else:
        beta = (gamma(D / 2 + 1) / Ek) ** (2 / D)
        p = float(np.exp(-beta * (k ** (2 / D))))
    lam = (Ec + _EPS) * p
    # spm_Pcdf(c - 1, lam) = 1 - gammainc(lam, c) (Octave's argument order)
    return 1 - (1 - _gammainc_lower(lam, c)), p, Ec, Ek


def spm_u(alpha: float, df, STAT: str) -> float:
    """The uncorrected height threshold (p < alpha), SPM12 ``spm_u.m``."""
    if STAT == "Z":
        from scipy.special import ndtri

        return float(ndtri(1 - alpha))
    if STAT == "T":
        return spm_invTcdf(1 - alpha, df[1])
    if STAT == "F":
        return spm_invFcdf(1 - alpha, df[0], df[1])
    raise InputError(f"STAT: expected 'Z', 'T' or 'F', found {STAT!r}.")


def spm_uc_RF(alpha: float, df, STAT: str, R, n: int = 1) -> float:
    r"""The FWE height threshold by random field theory, SPM12 ``spm_uc_RF.m``.

    From :math:`u = \mathrm{spm\_u}((\alpha/\max R)^{1/n})`, Newton steps with a
    finite-difference slope (du = 1e-6) first on the expected Euler characteristic,
    :math:`E_c(u) = \alpha` (``[P,P,p] = spm_P_RF(...)`` takes the *third* output), then on
    :math:`P(u) = \alpha`, each until the step is at most 1e-6.
    # SPM12 spm_uc_RF.m lines 36-53
    """
    u = spm_u((alpha / np.max(R)) ** (1 / n), df, STAT)
    du = 1e-6
    for which in (2, 0):
        d = 1.0
        while abs(d) > 1e-6:
            p = spm_P_RF(1, 0, u, df, STAT, R, n)[which]
            q = spm_P_RF(1, 0, u + du, df, STAT, R, n)[which]
            d = (alpha - p) / ((q - p) / du)
            u = u + d
            if np.isinf(u):
                return float(np.inf)
    return float(u)


def spm_uc_Bonf(alpha: float, df, STAT: str, S: float, n: int = 1) -> float:
    r"""The Bonferroni height threshold, SPM12 ``spm_uc_Bonf.m``.

    .. math:: u = \mathrm{spm\_u}((\alpha/S)^{1/n})
    """
    return spm_u((alpha / S) ** (1 / n), df, STAT)


def spm_uc(alpha: float, df, STAT: str, R, n: int = 1, S: float | None = None) -> float:
    """The FWE height threshold SPM reports, SPM12 ``spm_uc.m``: the RFT threshold, or the
    Bonferroni one when the search volume ``S`` is given and that is lower.

    On the unsmoothed SPM auditory data (FWHM ~1.4 voxels) Bonferroni is always lower.
    # SPM12 spm_uc.m line 36: if nargin > 5 && ~(length(R) == 1 && R == 1),
    # u = min(u, spm_uc_Bonf(...))
    """
    u = spm_uc_RF(alpha, df, STAT, R, n)
    R = np.asarray(R, dtype=np.float64)
    if S is not None and not (R.size == 1 and np.all(R == 1)):
        u = min(u, spm_uc_Bonf(alpha, df, STAT, S, n))
    return float(u)


def height_threshold(
    alpha: float,
    height_control: str,
    stat_type: str,
    df,
    n_voxels: int,
    resels=None,
    rule: str = "spm",
) -> float:
    r"""A height threshold in the statistic's own units (t or F), by the ``height_rule``.

    - ``height_control='fpr'``: the :math:`1 - \alpha` quantile of the statistic
      (``'spm'``: SPM's ``spm_u``; ``'scipy'``: ``scipy.stats``);
    - ``'fwe'``: ``'spm'``: SPM's ``spm_uc`` (random field theory with ``resels``,
      bounded by Bonferroni over ``n_voxels``); ``'scipy'``: the :math:`1 - \alpha/S`
      quantile (Bonferroni);
    - ``'fwe_rft'``: the random-field threshold alone (``spm_uc_RF``; needs ``resels``).

    Parameters
    ----------
    df : (float, float)
        (numerator, denominator) degrees of freedom; the first is unused for t.
    n_voxels : int
        The search volume S (mask voxels).
    resels : array (4,) or None
        SPM's ``xVol.R``.
    """
    alpha = check_alpha(alpha)
    if rule not in HEIGHT_RULES:
        raise InputError(
            f"height_rule: expected one of {HEIGHT_RULES}, found {rule!r}; pick a name from "
            "refglm.inference.rft.HEIGHT_RULES."
        )
    STAT = {"t": "T", "T": "T", "F": "F", "f": "F"}.get(stat_type)
    if STAT is None:
        raise InputError(f"stat_type: expected 't' or 'F', found {stat_type!r}.")
    if height_control not in ("fpr", "fwe", "fwe_rft"):
        raise InputError(
            f"height_control: expected 'fpr', 'fwe' or 'fwe_rft', found {height_control!r}."
        )
    df = (float(df[0]), float(df[1]))
    needs_resels = height_control == "fwe_rft" or (height_control == "fwe" and rule == "spm")
    if needs_resels and resels is None:
        raise InputError(
            f"height_control={height_control!r}: expected the resel counts of the mask "
            "(random field theory), found None; fit under the spm12 convention."
        )
    if rule == "spm":
        if height_control == "fpr":
            return spm_u(alpha, df, STAT)
        if height_control == "fwe_rft":
            return spm_uc_RF(alpha, df, STAT, resels, 1)
        return spm_uc(alpha, df, STAT, resels, 1, n_voxels)
    if height_control == "fwe_rft":
        return spm_uc_RF(alpha, df, STAT, resels, 1)
    from scipy import stats

    level = alpha if height_control == "fpr" else alpha / n_voxels
    if STAT == "T":
        return float(stats.t.isf(level, df[1]))
    return float(stats.f.isf(level, df[0], df[1]))
