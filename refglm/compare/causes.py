r"""Why a voxel differs beyond tolerance: the rules of ``refglm compare --explain``, as numerics.

Arrays in, arrays out (numpy; scipy and ``refglm.glm`` on use). The arrays come from
:mod:`refglm.compare.accounting`, which reads them off the maps and the fitted models.

Every voxel beyond tolerance gets exactly one cause (:data:`CAUSES`), tried in this order:

``mask_edge``
    The voxel is in one map's support only (finite and non-zero).
``tie``
    An AR-bin tie. The reference's raw :math:`\hat\rho` lies within
    :data:`TIE_RHO_ATOL` of a bin edge (nistats' ``int(rho * bins) / bins``
    truncation, or the convention's rounding), so a peer whose estimate differs in
    its last digits whitens the voxel with the neighbouring bin; the voxel is a tie
    when the candidate's value is, within tolerance, the reference's value
    recomputed with that neighbouring bin (:func:`contrast_with_rho`).
``tail``
    A quantized tail. nistats' z is ``norm.isf(p)`` of a one-sided p. Below 1 the
    float64 spacing is :math:`u = 2^{-53}`, so for :math:`p > 1/2` p can only
    take the values :math:`1 - k u`, and z moves in steps of
    :math:`u / \varphi(z)`
    (:func:`~refglm.glm.z_quantization.quantization_step`): 2.0e-4 at z = -7.39,
    0.084 at the last step, -8.126 -> -8.210. Which step a voxel takes depends on
    the last bit of p, hence on the scipy version that computed ``t.sf``. The voxel is
    a tail when both p are above 1/2, they differ by at most
    :data:`TAIL_MAX_DP_SPACINGS` spacings, the difference in z is what those spacings
    give (within a factor :data:`TAIL_SLACK`) and, when both statistics are known,
    they agree to :data:`TAIL_STAT_RTOL` (a real difference in t must not hide
    behind the resolution of p). One spacing moves z by more than a tolerance
    :math:`\tau` only below :math:`z^*(\tau)`
    (:func:`~refglm.glm.z_quantization.quantization_onset`): -6.6336 at
    :math:`\tau = 10^{-6}`, where :math:`1 - p` = 147532 spacings.
``convention``
    The candidate is within tolerance of the maps of the convention choice that
    ``--explain`` found closest (not the reference's own convention).
``unexplained``
    Anything else.

The parameters are set by measurement: nistats 0.0.1rc0 (scipy 1.10.1, numpy 1.23.5)
run live against refglm ``convention='nistats'`` (scipy 1.17.1, numpy 2.4.6) on the
SPM auditory run, 19 settings x 3 contrasts: the 16 of ``tests/peers/test_nistats.py``
(every HRF model, cosine and polynomial drifts, ar1 and ols, 40 and 63 scans;
``validation/peers/nistats/peer.py``; 4163 tails), the statsmodels engine, 63 scans
with OLS and a rank-deficient design:

* :data:`TAIL_MAX_DP_SPACINGS` = 1: every one of the 4663 tail voxels of the grid
  has its two p exactly one spacing apart (equal t, ``t.sf`` of the two scipy
  versions one ulp apart); no other voxel beyond tolerance has :math:`|\Delta p| \le u`;
* :data:`TAIL_SLACK` = 2: the measured :math:`|\Delta z| / ((|\Delta p| + u)/\varphi(z))`
  lies in 0.70 .. 1.38;
* :data:`TAIL_STAT_RTOL` = 1e-8: the two t of a tail voxel agree to 1.2e-14
  relative; without this check 2 voxels of the ill-conditioned FIR design (while
  its drifts still differed by one ulp, see ``validation/peers/nistats/run_nistats.py``)
  and 131 of a rank-deficient one (real differences of t) would have been tails;
* :data:`TIE_RHO_ATOL` = 1e-6: nistats rc0 computes :math:`\hat\rho` in float64 and
  its estimate agrees with refglm's to 5.5e-15 (1.3e-12 on FIR); the
  :math:`\hat\rho` closest to an edge in the tutorial is 5.9e-9 from it, so no tie
  occurs against nistats. The distance allows a peer that keeps :math:`\hat\rho`
  in float32 (relative rounding :math:`2^{-24}`, accumulated over ~100 scans:
  ~1e-6) and costs nothing in specificity: a voxel is a tie only when the
  candidate reproduces the neighbouring bin's value to the tolerance. 13 voxels of
  the tutorial's mask are that close to an edge (2 * 62073 * 1e-6 / 0.01 = 12 expected).
"""

from __future__ import annotations

import numpy as np

from refglm.glm.z_quantization import ULP_BELOW_ONE, normal_pdf

__all__ = [
    "CAUSES",
    "TIE_RHO_ATOL",
    "TAIL_MAX_DP_SPACINGS",
    "TAIL_SLACK",
    "TAIL_STAT_RTOL",
    "neighbouring_bins",
    "contrast_with_rho",
    "classify_voxels",
]

#: The causes, in the order reports list them.
CAUSES = ("convention", "tie", "tail", "mask_edge", "unexplained")

#: Largest distance (in rho) from a bin edge at which a voxel can be an AR-bin tie.
TIE_RHO_ATOL = 1e-6

#: Largest |p_reference - p_candidate| of a tail voxel, in spacings 2**-53.
TAIL_MAX_DP_SPACINGS = 1

#: Allowed factor between |dz| and (|dp| + 2**-53) / pdf(z) for a tail voxel.
TAIL_SLACK = 2.0

#: Largest relative difference of the statistics (t or F) of a tail voxel.
TAIL_STAT_RTOL = 1e-8


def neighbouring_bins(rho_raw, bins: int = 100, binning: str = "truncate", atol=TIE_RHO_ATOL):
    r"""Each voxel's AR bin, and the bin across the nearest edge when it is within ``atol``.

    Edges are at :math:`e/b` for ``'truncate'`` (nistats' ``int(rho * b) / b``, toward
    zero) and at :math:`(e + 1/2)/b` for ``'round'``; ``'none'`` has none. The bins on
    either side of an edge are those of :math:`e/b \mp 2\,\mathrm{atol}`; an edge both
    sides of which bin alike (0 under truncation) cannot make a tie.

    Parameters
    ----------
    rho_raw : array (v,)
        Unbinned AR(1) estimates (NaN for OLS).
    bins : int
    binning : {'truncate', 'round', 'none'}
    atol : float

    Returns
    -------
    own : array (v,)
        The binned rho (``refglm.glm.noise.bin_rho``).
    other : array (v,)
        The binned rho across the nearest edge, NaN where no edge is within ``atol``.
    """
    from refglm.glm.noise import bin_rho

    rho = np.asarray(rho_raw, dtype=np.float64)
    finite = np.isfinite(rho)
    own = np.where(finite, bin_rho(np.where(finite, rho, 0.0), bins, binning), np.nan)
    other = np.full(rho.shape, np.nan)
    if binning == "none" or not finite.any():
        return own, other
    scaled = np.where(finite, rho, 0.0) * bins
    edge = np.rint(scaled) if binning == "truncate" else np.floor(scaled) + 0.5
    near = finite & (np.abs(scaled - edge) / bins <= atol)
    below = bin_rho(edge / bins - 2 * atol, bins, binning)
    above = bin_rho(edge / bins + 2 * atol, bins, binning)
    across = np.where(own == below, above, below)
    near &= below != above
    other[near] = across[near]
    return own, other


def contrast_with_rho(
    Y,
    X,
    rho,
    C,
    stat_type=None,
    *,
    whiten_scan0: str = "keep",
    cov_pinv: str = "scipy",
    z_method: str = "isf_clipped",
):
    r"""A contrast at the voxels ``Y`` whitened with the AR coefficients ``rho`` given.

    For each distinct value :math:`\rho` and its voxels: :math:`\tilde X, \tilde y`
    whitened (``refglm.glm.noise.ar1_whiten``), :math:`\hat\beta = \tilde X^+ \tilde y`
    (statsmodels' pseudo-inverse, singular values below :math:`10^{-15} s_{max}` cut),
    :math:`\hat\sigma^2 = \lVert\tilde y - \tilde X\hat\beta\rVert^2 / (n_{obs} - r)`,
    the covariance of ``cov_pinv``, then ``refglm.glm.contrasts.compute_contrast``: the
    fit engines' formulas (``refglm.glm.engines.vectorized``), for a handful of voxels
    and a rho of the caller's choosing (the neighbouring bin of a tie).

    Parameters
    ----------
    Y : array (n_scans, v)
        The voxels' scaled signals (the model's ``signals_``).
    X : array (n_scans, p)
    rho : array (v,)
    C : array (q, p)
    stat_type, whiten_scan0, cov_pinv, z_method
        As the fit and ``compute_contrast``.

    Returns
    -------
    refglm.glm.contrasts.ContrastResult
    """
    from refglm.glm.contrasts import compute_contrast
    from refglm.glm.engines import GLMFit, scipy_pinv_cov
    from refglm.glm.noise import ar1_whiten

    Y = np.asarray(Y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    rho = np.asarray(rho, dtype=np.float64)
    values, labels = np.unique(rho, return_inverse=True)
    labels = labels.ravel()
    p, v = X.shape[1], Y.shape[1]
    beta, sigma2, df = np.empty((p, v)), np.empty(v), np.empty(v)
    cov = np.empty((len(values), p, p))
    for k, value in enumerate(values):
        members = labels == k
        wX = ar1_whiten(X, value, whiten_scan0)
        u, s, vt = np.linalg.svd(wX, full_matrices=False)
        s_inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 1e-15 * s.max())
        pinv = vt.T @ (s_inv[:, None] * u.T)
        rank = int(np.linalg.matrix_rank(np.diag(s)))
        wy = ar1_whiten(Y[:, members], value, whiten_scan0)
        b = pinv @ wy
        resid = wy - wX @ b
        beta[:, members] = b
        df[members] = wX.shape[0] - rank
        sigma2[members] = np.einsum("tc,tc->c", resid, resid) / (wX.shape[0] - rank)
        cov[k] = scipy_pinv_cov(wX) if cov_pinv == "scipy" else pinv @ pinv.T
    fit = GLMFit(beta, sigma2, df, rho, rho, labels, cov, "ar1")
    return compute_contrast(fit, np.atleast_2d(C), stat_type=stat_type, z_method=z_method)


def classify_voxels(
    reference,
    candidate,
    in_reference,
    in_candidate,
    threshold: float,
    *,
    tie_values=None,
    reference_p=None,
    candidate_p=None,
    reference_stat=None,
    candidate_stat=None,
    convention=None,
) -> dict:
    r"""The cause of every voxel beyond tolerance (module docstring, in its order).

    Parameters
    ----------
    reference, candidate : array (n,)
        The two maps on a common index of voxels (0 off their supports, as
        ``refglm.compare.agreement.compare_arrays`` takes them).
    in_reference, in_candidate : array of bool (n,)
        Their supports.
    threshold : float
        :math:`|\Delta|` above which a voxel is beyond tolerance (the absolute
        threshold of ``compare_arrays``, relative tolerances already applied).
    tie_values : array (n,) or None
        The reference's value with the neighbouring AR bin, NaN where rho is not
        within :data:`TIE_RHO_ATOL` of an edge (:func:`neighbouring_bins`,
        :func:`contrast_with_rho`). None: no tie class.
    reference_p, candidate_p : array (n,) or None
        The one-sided p each z came from (z maps only). None: no tail class.
    reference_stat, candidate_stat : array (n,) or None
        The t or F statistics, when known on both sides (tail check).
    convention : array (n,) or None
        The map under the closest convention choice. None: no convention class.

    Returns
    -------
    dict
        ``label`` (array of str, ``''`` within tolerance), ``beyond`` (bool array),
        ``counts`` (cause -> number of voxels, every cause of :data:`CAUSES`).
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(candidate, dtype=np.float64)
    in_a = np.asarray(in_reference, dtype=bool)
    in_b = np.asarray(in_candidate, dtype=bool)
    delta = np.abs(b - a)
    edge = in_a != in_b
    beyond = edge | (in_a & in_b & (delta > threshold))
    label = np.full(a.shape, "", dtype=object)
    todo = beyond.copy()

    def assign(name, mask):
        nonlocal todo
        mask = todo & mask
        label[mask] = name
        todo &= ~mask

    assign("mask_edge", edge)
    with np.errstate(invalid="ignore"):
        if tie_values is not None:
            tie_values = np.asarray(tie_values, dtype=np.float64)
            assign("tie", np.isfinite(tie_values) & (np.abs(tie_values - b) <= threshold))
        if reference_p is not None and candidate_p is not None:
            pa = np.asarray(reference_p, dtype=np.float64)
            pb = np.asarray(candidate_p, dtype=np.float64)
            dp = np.abs(pa - pb)
            step = (dp + ULP_BELOW_ONE) / np.maximum(normal_pdf(a), 1e-300)
            tail = (
                (pa > 0.5)
                & (pb > 0.5)
                & (dp <= TAIL_MAX_DP_SPACINGS * ULP_BELOW_ONE)
                & (delta <= TAIL_SLACK * step)
            )
            if reference_stat is not None and candidate_stat is not None:
                sa = np.asarray(reference_stat, dtype=np.float64)
                sb = np.asarray(candidate_stat, dtype=np.float64)
                tail &= np.abs(sa - sb) <= TAIL_STAT_RTOL * np.maximum(1.0, np.abs(sa))
            assign("tail", tail)
        if convention is not None:
            near = np.abs(np.asarray(convention, dtype=np.float64) - b) <= threshold
            assign("convention", near)
    assign("unexplained", np.ones(a.shape, dtype=bool))
    return {
        "label": label,
        "beyond": beyond,
        "counts": {cause: int(np.sum(label == cause)) for cause in CAUSES},
    }
