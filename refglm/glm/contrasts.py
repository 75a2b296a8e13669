"""Contrasts: expressions, t and F statistics, p-values and z-scores.

The statistics are written out here from the fitted ``beta``, ``sigma2`` and
the unscaled covariance of each whitened design (``refglm.glm.engines.GLMFit``), so that
each number has one visible formula; ``tests/glm/test_contrasts.py`` checks them
against statsmodels' own ``t_test`` and ``f_test`` voxel by voxel.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from refglm.exceptions import InputError, NotEstimableError
from refglm.glm.contrast_expressions import as_contrast_matrix, expression_to_contrast_vector

__all__ = [
    "ContrastResult",
    "expression_to_contrast_vector",
    "as_contrast_matrix",
    "is_estimable",
    "z_from_p",
    "compute_contrast",
    "f_whitened_effect",
    "fixed_effects_contrast",
    "fixed_effects_params",
    "STAT_TYPES",
    "Z_METHODS",
    "CONTRAST_DTYPES",
    "spm_contrast_space",
    "spm_contrast_df",
    "spm_t_contrast",
    "spm_f_contrast",
]

STAT_TYPES = ("t", "F")
Z_METHODS = ("isf_clipped", "two_tailed_ppf")
#: ``contrast_dtype``: contrasts from the float64 betas, or as SPM12 computes them from
#: its float32 images (beta, then con/ess, then spmT/spmF, each stored as float32).
CONTRAST_DTYPES = ("float64", "float32_images")

# nistats contrasts.py Contrast: tiny = 1e-50, dofmax = 1e10 (nilearn 0.14.1: the same)
TINY = 1e-50
DOFMAX = 1e10
# nistats utils.py / nilearn glm/_utils.py z_score: np.clip(p, 1e-300, 1 - 1e-16)
P_CLIP_LOW = 1.0e-300
P_CLIP_HIGH = 1.0 - 1.0e-16


def is_estimable(C: np.ndarray, X: np.ndarray, tol: float = 1e-8) -> bool:
    r"""Whether every row of ``C`` lies in the row space of ``X`` (an estimable contrast).

    .. math::
        C = C X^{+} X \iff C\,(I - X^{+} X) = 0, \qquad
        \text{tested as}\quad \max_{ik} \lvert [C (I - X^{+} X)]_{ik} \rvert
        \le \mathrm{tol} \cdot \max(1, \max_{ik} \lvert C_{ik} \rvert)

    :math:`X^+ X` is the orthogonal projector onto the row space of :math:`X`; an
    estimable :math:`C\beta` has the same value for every solution of the normal
    equations, so it does not depend on the pseudo-inverse chosen by the fit.
    # statsmodels tools/tools.py isestimable tests the same condition as
    # matrix_rank(vstack([C, X])) == matrix_rank(X); the projection form gives a
    # tolerance in units of C's weights. nistats 0.0.1rc0 has no estimability check
    # (a non-estimable contrast silently gets the pinv estimate).

    Parameters
    ----------
    C : array_like, shape (q, p) or (p,)
    X : array_like, shape (n_scans, p)
        The design matrix, unwhitened: AR(1) whitening with scan 0 kept is an
        invertible map of the rows' time axis, so it keeps the row space.
    tol : float, default 1e-8
        Relative tolerance on the residual of the projection.

    Returns
    -------
    bool
    """
    X = np.asarray(X, dtype=np.float64)
    P = np.eye(X.shape[1]) - np.linalg.pinv(X) @ X
    scale = max(1.0, float(np.abs(C).max()))
    return bool(np.abs(np.atleast_2d(C) @ P).max() <= tol * scale)


def z_from_p(
    p_value, method: str = "isf_clipped", stat=None, df=None, one_minus_p=None
) -> np.ndarray:
    r"""Convert p-values to z-scores, by the convention's ``z_method``.

    With :math:`\mathrm{clip}(x) = \min(\max(x, 10^{-300}), 1 - 10^{-16})`:

    - ``'isf_clipped'``: :math:`z = \Phi^{-1}(1 - \mathrm{clip}(p))` (``norm.isf``);
      # nistats utils.py z_score: norm.isf(np.minimum(np.maximum(p, 1e-300), 1 - 1e-16))
    - ``'two_tailed_ppf'``: the same where it is :math:`\ge 0`; where it is negative
      (:math:`p > 1/2`), :math:`z = \Phi^{-1}(\mathrm{clip}(1 - p))` (``norm.ppf``) with
      :math:`1 - p` computed directly as a CDF, so that the lower tail does not
      saturate at :math:`\Phi^{-1}(10^{-16}) \approx -8.2`;
      # nilearn 0.14.1 glm/_utils.py z_score(pvalue, one_minus_pvalue) (PR #2567):
      # use_cdf = norm.isf(clip(p)) < 0; z[use_cdf] = norm.ppf(clip(one_minus_p))[use_cdf]

    Parameters
    ----------
    p_value : array_like
        Upper-tail p-values (survival function of the statistic).
    method : {'isf_clipped', 'two_tailed_ppf'}
    stat, df : array_like, optional
        A t statistic and its degrees of freedom; used by ``'two_tailed_ppf'`` to
        compute :math:`1 - p = F_{t,\nu}(t)` when ``one_minus_p`` is not given.
    one_minus_p : array_like, optional
        The CDF of the statistic (nilearn ``Contrast.one_minus_pvalue``).

    Returns
    -------
    z : ndarray, float64
    """
    from scipy import stats  # on use: the module loads without it (refglm --help)

    p_value = np.asarray(p_value, dtype=np.float64)
    if method not in Z_METHODS:
        raise InputError(
            f"z_method: expected one of {Z_METHODS}, found {method!r}; pick a name from "
            "refglm.glm.contrasts.Z_METHODS."
        )
    z_sf = stats.norm.isf(np.minimum(np.maximum(p_value, P_CLIP_LOW), P_CLIP_HIGH))
    if method == "isf_clipped":
        return z_sf
    if one_minus_p is None:
        if stat is None:
            return z_sf
        stat = np.asarray(stat, dtype=np.float64)
        one_minus_p = stats.t.cdf(stat, np.minimum(df, DOFMAX))
    one_minus_p = np.asarray(one_minus_p, dtype=np.float64)
    z_cdf = stats.norm.ppf(np.clip(one_minus_p, P_CLIP_LOW, P_CLIP_HIGH))
    return np.where(z_sf < 0, z_cdf, z_sf)


@dataclass
class ContrastResult:
    r"""A contrast evaluated at every voxel.

    Attributes
    ----------
    stat_type : {'t', 'F'}
    contrast : ndarray, shape (q, n_regressors)
    effect : ndarray, shape (q, n_voxels)
    variance : ndarray, shape (q, q, n_voxels)
    stat, p_value, z_score : ndarray, shape (n_voxels,)
    df : ndarray, shape (n_voxels,)
        Residual (denominator) degrees of freedom :math:`\nu`.
    df_num : ndarray of shape (n_voxels,), or None
        F only: numerator degrees of freedom, the rank of :math:`C V_v C^T`
        (q unless the rows are linearly dependent), or SPM's effective ``eidf``; None
        for t.
    ess : ndarray of shape (n_voxels,), or None
        F only, SPM's fits (``df='spm_effective'``): the extra sum of squares, SPM's
        ``ess`` image (what SPM calls the contrast image of an F contrast).
    f_effect : ndarray of shape (q, n_voxels), or None
        F only, the other fits: the whitened effect :math:`(C V C^T)^{-1/2} C\hat\beta`,
        nistats' and nilearn's F ``effect_size`` (:func:`f_whitened_effect`).
    f_variance : ndarray of shape (n_voxels,), or None
        F only, the other fits: :math:`\hat\sigma^2`, nistats' and nilearn's F
        ``effect_variance`` (the dispersion).
    """

    stat_type: str
    contrast: np.ndarray
    effect: np.ndarray
    variance: np.ndarray
    stat: np.ndarray
    p_value: np.ndarray
    z_score: np.ndarray
    df: np.ndarray
    df_num: np.ndarray | None = None
    ess: np.ndarray | None = None
    f_effect: np.ndarray | None = None
    f_variance: np.ndarray | None = None

    def output(self, output_type: str) -> np.ndarray:
        r"""One output map, by nilearn's ``output_type`` name.

        .. math::
            \texttt{z\_score} \mapsto z,\quad \texttt{stat} \mapsto t\ \text{or}\ F,\quad
            \texttt{p\_value} \mapsto p,\quad \texttt{effect\_size} \mapsto C\hat\beta,\quad
            \texttt{effect\_variance} \mapsto C V C^T \hat\sigma^2

        A one-row contrast gives 1-D effect and variance maps (row 0, entry [0, 0]);
        several rows give the (q, n_voxels) and (q, q, n_voxels) arrays, or, for an F
        contrast with :attr:`f_effect`, nistats' and nilearn's F maps: the whitened
        effect (q, n_voxels) and the dispersion (n_voxels,).
        # nistats first_level_model.py compute_contrast: getattr(contrast, output_type)()
        # over Contrast.z_score / stat / p_value / effect_size / effect_variance.
        """
        if self.stat_type == "F" and self.f_effect is not None:
            if output_type == "effect_size":
                return self.f_effect
            if output_type == "effect_variance":
                return self.f_variance
        if output_type == "z_score":
            return self.z_score
        if output_type == "stat":
            return self.stat
        if output_type == "p_value":
            return self.p_value
        if output_type == "effect_size":
            return self.effect[0] if self.effect.shape[0] == 1 else self.effect
        if output_type == "effect_variance":
            return self.variance[0, 0] if self.variance.shape[0] == 1 else self.variance
        raise InputError(
            f"output_type: expected one of z_score, stat, p_value, effect_size, "
            f"effect_variance; found {output_type!r}; pick one of those names."
        )


def f_quadratic_form(
    effect: np.ndarray, weights: np.ndarray, labels: np.ndarray, ranks: np.ndarray
) -> np.ndarray:
    r""":math:`\lVert W_k^{1/2} C\hat\beta_v \rVert^2` for every voxel, model by model.

    The quadratic form :math:`(C\hat\beta)^T W (C\hat\beta)` computed as nistats
    and nilearn compute it: the effect whitened by the matrix square root of
    :math:`W = (C V C^T)^{-1}`, then squared and summed. On an ill-conditioned
    design (FIR) the two orders differ by ~1e-6 relatively. When the rows are
    dependent (``ranks[k] < q``, where nistats and nilearn fail), :math:`W` is a
    pseudo-inverse and its square root is taken from its eigendecomposition.
    # nistats contrasts.py compute_contrast: wcbeta = np.dot(sqrtm(invcov), cbeta);
    # Contrast.stat: np.sum(effect ** 2, 0) / dim / variance. nilearn 0.14.1: the same.
    """
    return np.sum(f_whitened_effect(effect, weights, labels, ranks) ** 2, axis=0)


def f_whitened_effect(
    effect: np.ndarray, weights: np.ndarray, labels: np.ndarray, ranks: np.ndarray
) -> np.ndarray:
    r"""The whitened F effect :math:`W_k^{1/2} C\hat\beta_v` of every voxel, model by model.

    :math:`W_k = (C V_k C^T)^{-1}` (``weights[k]``, :func:`f_weights`), its square root
    by ``scipy.linalg.sqrtm`` (or, for dependent rows, from its eigendecomposition):
    nistats' and nilearn's F ``effect_size``, whose squares sum to the F numerator.
    # nistats contrasts.py compute_contrast: wcbeta = np.dot(sqrtm(invcov), cbeta);
    # nilearn 0.14.1 glm/contrasts.py compute_contrast: the same

    Returns
    -------
    ndarray, shape (q, n_voxels)
    """
    import scipy.linalg  # on use: the module loads without it (refglm --help)

    whitened = np.empty(effect.shape)
    order = np.argsort(labels, kind="stable")
    models, starts = np.unique(labels[order], return_index=True)
    for k, members in zip(models, np.split(order, starts[1:]), strict=True):
        if ranks[k] == weights.shape[1]:
            root = np.real(scipy.linalg.sqrtm(weights[k]))
        else:
            values, vectors = np.linalg.eigh(weights[k])
            root = (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T
        whitened[:, members] = np.dot(root, effect[:, members])
    return whitened


def f_weights(C: np.ndarray, ccov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The F quadratic form's matrix and numerator df of each model.

    ``ccov[k]`` is :math:`C V_k C^T`. Full rank: its inverse (nistats' ``inv``);
    rank r < q: its pseudo-inverse and df r (statsmodels ``wald_test``); rank 0
    (every row outside the row space of the design): NotEstimableError.
    """
    q = C.shape[0]
    ranks = np.linalg.matrix_rank(ccov)  # statsmodels wald_test: matrix_rank(cov_p)
    rows = "[" + "; ".join(" ".join(f"{w:g}" for w in row) for row in C) + "]"
    if np.any(ranks == 0):
        raise NotEstimableError(
            f"contrast {rows}: expected rows in the row space of the design, found "
            f"C (X~'X~)^+ C' = 0 (rank 0) for {int(np.sum(ranks == 0))} of {len(ranks)} "
            "whitened design(s); contrast columns that the design varies (check with "
            "refglm.glm.contrasts.is_estimable)."
        )
    if np.all(ranks == q):
        return np.linalg.inv(ccov), ranks
    found = ", ".join(str(r) for r in np.unique(ranks))
    warnings.warn(
        f"contrast {rows}: an F test of {q} rows whose covariance C (X~'X~)^+ C' has "
        f"rank {found} < {q}: the rows are linearly dependent. F uses its pseudo-inverse "
        f"and df1 = {found}, as statsmodels f_test does (the same hypothesis, the same F "
        f"as {found} independent row(s)); drop the dependent rows to get that F without "
        "this warning.",
        UserWarning,
        stacklevel=3,
    )
    return np.linalg.pinv(ccov), ranks


def compute_contrast(
    fit,
    C,
    stat_type=None,
    z_method: str = "isf_clipped",
    contrast_dtype: str = "float64",
) -> ContrastResult:
    r"""t or F statistic of the contrast ``C`` at every voxel.

    With :math:`V_v = (\tilde X^T \tilde X)^+` of voxel v's whitened design
    (``fit.cov_unscaled[fit.labels[v]]``) and :math:`\nu_v` its residual df:

    t (one row :math:`c`):

    .. math::
        e_v = c\hat\beta_v,\quad s^2_v = c V_v c^T \hat\sigma^2_v,\quad
        t_v = e_v / \sqrt{\max(s^2_v, 10^{-50})},\quad p_v = 1 - F_{t,\nu_v}(t_v)

    F (q rows :math:`C`), with :math:`r_v = \operatorname{rank}(C V_v C^T)`:

    .. math::
        F_v = \frac{(C\hat\beta_v)^T (C V_v C^T)^{+} (C\hat\beta_v)}
                   {r_v \max(\hat\sigma^2_v, 10^{-50})},\quad
        p_v = 1 - F_{F;\,r_v,\nu_v}(F_v)

    and z from p by :func:`z_from_p` with the convention's ``z_method``, for t and F
    alike (nilearn's ``one_minus_pvalue`` is the t or F CDF).

    When the rows are linearly independent (:math:`r_v = q`, every tutorial
    contrast) :math:`(\cdot)^+` is the inverse and this is nistats' F, computed as
    nistats does: the inverse of :math:`C V_v C^T` per whitened design
    (``vcov(dispersion=1)``), then divided by :math:`q\max(\hat\sigma^2_v, 10^{-50})`,
    so a voxel with zero residual variance gets a finite F (0 when its effect is 0)
    instead of a singular matrix.
    # nistats contrasts.py compute_contrast: invcov = inv(reg.vcov(matrix=con_val,
    # dispersion=1.0)); Contrast.stat: sum(wcbeta**2) / dim / maximum(rss, tiny);
    # regression.py Tcontrast (vcov = C cov C^T * dispersion)

    When they are linearly dependent (``['active', 'active']``, ``['active - rest',
    'rest - active']``) nistats and nilearn 0.14.1 fail in ``np.linalg.inv``
    (``LinAlgError: Singular matrix``). refglm follows its statsmodels reference
    instead: the pseudo-inverse, numerator df :math:`r_v` (the rank, by
    ``np.linalg.matrix_rank``), and a ``UserWarning`` naming the rows, the rank and
    the fix (drop the dependent rows). That F is the F test of the same hypothesis
    :math:`C\beta = 0` written with :math:`r_v` independent rows, so the answer
    does not depend on how the hypothesis was written, and it equals
    ``GLSAR(...).fit().f_test(C)`` voxel by voxel, as for independent rows.
    # statsmodels base/model.py LikelihoodModelResults.wald_test (f_test):
    # invcov = np.linalg.pinv(cov_p); J_ = np.linalg.matrix_rank(cov_p); if J_ < J:
    # warn "covariance of constraints does not have full rank", J = J_; F /= J
    # Both engines share this function (model.FirstLevelModel.contrast_result).

    Parameters
    ----------
    fit : refglm.glm.engines.statsmodels.GLMFit
    C : ndarray, shape (q, n_regressors)
        From :func:`as_contrast_matrix`.
    stat_type : {'t', 'F'} or None
        Default 't' for one row, 'F' for more (nistats).
    z_method : {'isf_clipped', 'two_tailed_ppf'}
        See :func:`z_from_p`.
    contrast_dtype : {'float64', 'float32_images'}
        The convention's ``contrast_dtype``: ``'float32_images'`` computes the
        effect from float32 betas and stores effect and statistic as float32, as
        SPM12 does with its images (:func:`spm_t_contrast`).

    Returns
    -------
    ContrastResult
        ``df_num`` holds :math:`r_v` for F.

    Notes
    -----
    A fit with SPM12's effective degrees of freedom (``fit.design_space.df_rule ==
    'spm_effective'``, the ``spm12`` convention) gets SPM12's statistics instead
    (:func:`spm_t_contrast`, :func:`spm_f_contrast`):

    .. math::
        T = \frac{c^T\hat\beta}{\sqrt{\mathrm{ResMS}\; c^T B c}},\qquad
        F = \frac{\lVert H\hat\beta\rVert^2 / \mathrm{tr}(MV)}{\mathrm{ResMS}}

    with :math:`B` = ``Bcov``, p from Student's t with ``erdf`` degrees of freedom,
    or from F with (``eidf``, ``erdf``) (``spm_contrasts.m``, ``spm_FcUtil.m``), and z
    from p by ``z_method``: under ``spm12`` (``'isf_clipped'``)
    :math:`z = \Phi^{-1}(1 - p)`, SPM's "equivalent Z" of its results tables
    (``spm_list.m``: ``Ze = spm_invNcdf(1 - Pz)``, which is Inf below its
    tolerance where refglm clips p at 1e-300).

    Raises
    ------
    InputError
        For an unknown ``stat_type`` or ``z_method``, or a t contrast of several rows.
    NotEstimableError
        For an F contrast with :math:`C V_v C^T = 0` (every row outside the design's
        row space).

    Warns
    -----
    UserWarning
        For an F contrast whose rows are linearly dependent (rank < q).
    """
    from scipy import stats  # on use: the module loads without it (refglm --help)

    if z_method not in Z_METHODS:
        raise InputError(
            f"z_method: expected one of {Z_METHODS}, found {z_method!r}; pick a name from "
            "refglm.glm.contrasts.Z_METHODS."
        )
    C = np.atleast_2d(np.asarray(C, dtype=np.float64))
    q = C.shape[0]
    if stat_type is None:
        stat_type = "t" if q == 1 else "F"
    if stat_type not in STAT_TYPES:
        raise InputError(
            f"stat_type: expected 't' or 'F', found {stat_type!r}; pass stat_type=None to "
            "choose by the number of rows."
        )
    if stat_type == "t" and q != 1:
        raise InputError(
            f"contrast: a t contrast has one row, found {q}; use stat_type='F' for several rows."
        )
    if contrast_dtype not in CONTRAST_DTYPES:
        raise InputError(
            f"contrast_dtype: expected one of {CONTRAST_DTYPES}, found {contrast_dtype!r}; "
            "pick a name from refglm.glm.contrasts.CONTRAST_DTYPES."
        )
    design_space = getattr(fit, "design_space", None)
    if design_space is not None and design_space.df_rule == "spm_effective":
        return _spm_contrast(fit, C, stat_type, z_method, contrast_dtype)
    beta = _as_stored(fit.beta, contrast_dtype)
    effect = C @ beta  # (q, v)
    if contrast_dtype == "float32_images":
        effect = _as_stored(effect, contrast_dtype)
    # C (V_k C^T), in this order, model by model: nistats model.py and nilearn 0.14.1
    # glm/model.py vcov: np.dot(matrix, np.dot(self.cov, np.transpose(matrix))). For an
    # ill-conditioned design (FIR) V_k has large entries that cancel, and another order
    # of the sums moves the t statistic by ~1e-7 relatively.
    ccov = np.stack([np.dot(C, np.dot(V, C.T)) for V in fit.cov_unscaled])  # (n_models, q, q)
    variance = np.moveaxis(ccov[fit.labels], 0, -1) * fit.sigma2  # (q, q, v)
    df = np.minimum(fit.df_resid, DOFMAX)
    df_num = None
    if stat_type == "t":
        stat = effect[0] / np.sqrt(np.maximum(variance[0, 0], TINY))
        p_value = stats.t.sf(stat, df)
        one_minus_p = stats.t.cdf(stat, df) if z_method == "two_tailed_ppf" else None
    else:
        weights, ranks = f_weights(C, ccov)  # (n_models, q, q), (n_models,)
        df_num = ranks[fit.labels].astype(np.float64)
        f_effect = f_whitened_effect(effect, weights, fit.labels, ranks)
        quad = np.sum(f_effect**2, axis=0)
        stat = quad / df_num / np.maximum(fit.sigma2, TINY)
        p_value = stats.f.sf(stat, df_num, df)
        one_minus_p = stats.f.cdf(stat, df_num, df) if z_method == "two_tailed_ppf" else None
    if contrast_dtype == "float32_images":
        stat = _as_stored(stat, contrast_dtype)
        p_value = stats.t.sf(stat, df) if stat_type == "t" else stats.f.sf(stat, df_num, df)
        if z_method == "two_tailed_ppf":
            one_minus_p = (
                stats.t.cdf(stat, df) if stat_type == "t" else stats.f.cdf(stat, df_num, df)
            )
    z = z_from_p(p_value, z_method, one_minus_p=one_minus_p)
    if stat_type == "t":
        return ContrastResult(
            stat_type, C, effect, variance, stat, p_value, z, fit.df_resid, df_num
        )
    return ContrastResult(
        stat_type,
        C,
        effect,
        variance,
        stat,
        p_value,
        z,
        fit.df_resid,
        df_num,
        f_effect=f_effect,
        f_variance=np.asarray(fit.sigma2, dtype=np.float64),
    )


def _stat_p_z(effect, variance, dof, stat_type, dim, z_method):
    """t or F, p and z of a fixed-effects contrast, as nilearn's ``Contrast`` computes them."""
    from scipy import stats  # on use: the module loads without it (refglm --help)

    df = np.minimum(dof, DOFMAX)
    if stat_type == "t":
        stat = (effect[0] / np.sqrt(np.maximum(variance, TINY))).ravel()
        p_value = stats.t.sf(stat, df)
        one_minus_p = stats.t.cdf(stat, df)
    else:
        stat = (np.sum(effect**2, 0) / dim / np.maximum(variance, TINY)).ravel()
        p_value = stats.f.sf(stat, dim, df)
        one_minus_p = stats.f.cdf(stat, dim, df)
    return stat, p_value, z_from_p(p_value, z_method, one_minus_p=one_minus_p)


def fixed_effects_contrast(results, z_method: str = "isf_clipped") -> ContrastResult:
    r"""The fixed-effects contrast of several runs, from each run's :class:`ContrastResult`.

    With k runs whose contrast is not null, each run's effect :math:`e_i` (t: :math:`c\hat
    \beta`; F: the whitened effect, :attr:`ContrastResult.f_effect`), variance :math:`v_i`
    (t: :math:`c V c^T \hat\sigma^2`; F: :math:`\hat\sigma^2`) and df :math:`\nu_i`:

    .. math::
        e = \frac{1}{k}\sum_i e_i,\quad v = \frac{1}{k^2}\sum_i v_i,\quad
        \nu = \sum_i \nu_i,\quad
        t = \frac{e}{\sqrt{\max(v, 10^{-50})}},\quad
        F = \frac{\sum_j e_j^2}{q \max(v, 10^{-50})}

    then p from :math:`t_\nu` or :math:`F_{q,\nu}` and z by ``z_method`` (with the CDF as
    :math:`1 - p`). The runs are added in order, then scaled by :math:`1/k`, as nilearn
    does.
    # nilearn 0.14.1 glm/contrasts.py compute_fixed_effect_contrast: contrast = contrast +
    # contrast_ (Contrast.__add__: effects, variances and dofs summed), then
    # contrast * (1.0 / n_contrasts) (Contrast.__rmul__: effect * s, variance * s**2);
    # Contrast.stat / p_value / one_minus_pvalue / z_score. nistats 0.0.1b1
    # contrasts.py _fixed_effect_contrast: the same.

    Parameters
    ----------
    results : list of ContrastResult
        One per run whose contrast is not null, all t or all F with the same rows.
    z_method : {'isf_clipped', 'two_tailed_ppf'}

    Returns
    -------
    ContrastResult
        ``df`` is :math:`\nu`; for F, ``f_effect`` and ``f_variance`` are :math:`e` and
        :math:`v`, ``effect`` and ``variance`` the mean of the runs' :math:`C\hat\beta` and
        :math:`C V C^T \hat\sigma^2` scaled likewise.

    Warns
    -----
    UserWarning
        For F: "Running approximate fixed effects on F statistics." (nilearn's words).
    """
    if not results:
        raise InputError("contrast: all the runs' contrasts are null; expected one that is not.")
    stat_type = results[0].stat_type
    if any(r.stat_type != stat_type for r in results):
        raise InputError("contrast: expected the same statistic (t or F) in every run.")
    q = results[0].effect.shape[0]
    if any(r.effect.shape[0] != q for r in results):
        raise InputError(
            "contrast: expected contrasts with the same number of rows in every run, found "
            f"{[r.effect.shape[0] for r in results]}."
        )
    if stat_type == "F" and len(results) > 1:
        warnings.warn(
            "Running approximate fixed effects on F statistics.", UserWarning, stacklevel=3
        )
    if stat_type == "t":
        parts = [(r.effect, r.variance[0, 0]) for r in results]
    else:
        parts = [(r.f_effect, r.f_variance) for r in results]
    effect, variance = parts[0]
    dof = np.asarray(results[0].df, dtype=np.float64)
    plain_effect, plain_variance = results[0].effect, results[0].variance
    for (e, v), r in zip(parts[1:], results[1:], strict=True):
        effect = effect + e
        variance = variance + v
        dof = dof + r.df
        plain_effect = plain_effect + r.effect
        plain_variance = plain_variance + r.variance
    scale = float(1.0 / len(results))
    effect, variance = effect * scale, variance * scale**2
    plain_effect, plain_variance = plain_effect * scale, plain_variance * scale**2
    stat, p_value, z = _stat_p_z(effect, variance, dof, stat_type, q, z_method)
    if stat_type == "t":
        return ContrastResult(
            "t", results[0].contrast, effect, variance[None, None], stat, p_value, z, dof
        )
    return ContrastResult(
        "F",
        results[0].contrast,
        plain_effect,
        plain_variance,
        stat,
        p_value,
        z,
        dof,
        np.full(dof.shape, float(q)),
        f_effect=effect,
        f_variance=variance,
    )


def fixed_effects_params(
    contrasts, variances, precision_weighted: bool = False, dofs=None, z_method="two_tailed_ppf"
):
    r"""Fixed effects of contrast and variance arrays, as nilearn's ``compute_fixed_effects``.

    With :math:`v_i = \max(v_i, 10^{-16})`:

    .. math::
        \text{precision weighted: } V = \Big(\sum_i 1/v_i\Big)^{-1},\
        E = V \sum_i e_i / v_i; \qquad
        \text{else: } V = \frac{1}{n}\,\overline{v},\ E = \overline{e}

    then t (one row) or F (several) with :math:`\sum` ``dofs`` degrees of freedom
    (100 per run when None) and z by ``z_method``.
    # nilearn 0.14.1 glm/contrasts.py _compute_fixed_effects_params (tiny = 1e-16), then
    # Contrast(effect, variance, dim, dof=np.sum(dofs), stat_type).z_score()

    Parameters
    ----------
    contrasts : ndarray, shape (n_runs, n_voxels) or (n_runs, q, n_voxels)
    variances : ndarray, shape (n_runs, n_voxels)
    precision_weighted : bool
    dofs : sequence of float or None

    Returns
    -------
    effect, variance, stat, z : ndarray
    """
    contrasts = np.asarray(contrasts, dtype=np.float64)
    variances = np.maximum(np.asarray(variances, dtype=np.float64), 1.0e-16)
    n_runs = len(variances)
    if contrasts.shape[0] != n_runs:
        raise InputError(
            f"contrast_imgs: expected one per variance image ({n_runs}), found "
            f"{contrasts.shape[0]}."
        )
    if dofs is None:
        dofs = [100] * n_runs
    elif len(dofs) != n_runs:
        raise InputError(f"dofs: expected one per contrast image ({n_runs}), found {len(dofs)}.")
    if precision_weighted:
        weights = 1.0 / variances
        variance = 1.0 / np.sum(weights, 0)
        effect = np.sum(contrasts * weights, 0) * variance
    else:
        variance = np.mean(variances, 0) / len(variances)
        effect = np.mean(contrasts, 0)
    dim, stat_type = 1, "t"
    if effect.ndim == 2:
        dim = effect.shape[0]
        stat_type = "F" if dim > 1 else "t"
    as_rows = effect if effect.ndim == 2 else effect[None]
    stat, _, z = _stat_p_z(as_rows, variance, float(np.sum(dofs)), stat_type, dim, z_method)
    return effect, variance, stat, z


def _spm_contrast(fit, C, stat_type, z_method, contrast_dtype) -> ContrastResult:
    """:func:`compute_contrast` of a fit with SPM12's effective df (see its Notes)."""
    from scipy import stats  # on use: the module loads without it (refglm --help)

    space = fit.design_space
    erdf = float(space.erdf)
    v = fit.beta.shape[1]
    variance = (C @ space.Bcov @ C.T)[:, :, None] * fit.sigma2  # (q, q, v)
    one_minus_p = None
    if stat_type == "t":
        con, stat = spm_t_contrast(C[0], fit.beta, fit.sigma2, space.Bcov, contrast_dtype)
        effect, ess, df_num = con[None], None, None
        p_value = stats.t.sf(stat, erdf)
        if z_method == "two_tailed_ppf":
            one_minus_p = stats.t.cdf(stat, erdf)
    else:
        _, X1o, Hsqr = spm_contrast_space(space.xKXs, C.T)
        trMV, _, eidf = spm_contrast_df(X1o, space.xX_V)
        ess, stat = spm_f_contrast(Hsqr, trMV, fit.beta, fit.sigma2, contrast_dtype)
        effect = C @ _as_stored(fit.beta, contrast_dtype)
        df_num = np.full(v, eidf)
        p_value = stats.f.sf(stat, eidf, erdf)
        if z_method == "two_tailed_ppf":
            one_minus_p = stats.f.cdf(stat, eidf, erdf)
    z = z_from_p(p_value, z_method, one_minus_p=one_minus_p)
    return ContrastResult(
        stat_type, C, effect, variance, stat, p_value, z, fit.df_resid, df_num, ess
    )


# ------------------------------------------------------------------ SPM12's contrasts


def _as_stored(values, contrast_dtype: str) -> np.ndarray:
    """``values`` as the image SPM would store and read back (float32), or float64."""
    if contrast_dtype == "float32_images":
        return np.asarray(values, dtype=np.float32).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


def spm_contrast_space(xKXs, c: np.ndarray):
    r"""The spaces of an F contrast, SPM12 ``spm_FcUtil('Set')``, ``'X1o'`` and ``'Hsqr'``.

    ``c`` (p x q) is projected on the row space of the design :math:`\tilde X = KWX`
    if it is not in it; then, with :math:`\tilde X = u\,\mathrm{diag}(d)\,v^T` of rank r,

    .. math::
        k = \mathrm{tol}\big(\mathrm{diag}(1/d_r)\, v_r^T c\big),\qquad
        X_{1o} = u_r k,\qquad
        H = \mathrm{ox}(k)^T \mathrm{diag}(d_r)\, v_r^T

    so that the extra sum of squares is :math:`\lVert H\hat\beta\rVert^2`.
    # SPM12 spm_FcUtil.m 'Set' ('c' branch: spm_sp('isinspp') / '+c->Tsp'),
    # 'X1o' (spm_sp('cukxp-:')), 'Hsqr' (spm_sp('ox', spm_sp('set', ukX1o))' * spm_sp('cukx'))

    Parameters
    ----------
    xKXs : refglm.glm.spm_linalg.SpmSpace
        The design space of :math:`KWX`.
    c : ndarray, shape (p, q)

    Returns
    -------
    c : ndarray (p, q), as SPM stores it (``xCon.c``); X1o : (n, q); Hsqr : (r', p)
    """
    from refglm.glm.spm_linalg import SpmSpace

    c = np.asarray(c, dtype=np.float64).reshape(xKXs.X.shape[1], -1).copy()
    c[np.abs(c) < xKXs.tol] = 0  # spm_sp(':', sX, c)
    if not xKXs.isinspp(c):
        c = xKXs.opp_tol(c)
    ukX1o = xKXs.cukxp_tol(c)
    X1o = xKXs.ox() @ ukX1o
    Hsqr = SpmSpace(ukX1o).ox().T @ xKXs.cukx()
    return c, X1o, Hsqr


def spm_contrast_df(X1o: np.ndarray, V: np.ndarray) -> tuple[float, float, float]:
    r"""The effective numerator df of a contrast, SPM12 ``spm_SpUtil('trMV')``.

    With :math:`u` an orthonormal basis of :math:`X_{1o}` and :math:`V` = ``xX.V``:

    .. math:: \mathrm{tr}(MV) = \sum (u \circ Vu),\quad
              \mathrm{tr}(MVMV) = \lVert u^T V u\rVert_F^2,\quad
              \nu_1 = \mathrm{tr}(MV)^2 / \mathrm{tr}(MVMV)

    # SPM12 spm_SpUtil.m 'trMV' and spm_FcUtil.m 'Set': [trMV, trMVMV] = spm_SpUtil('trMV', X1o, V);
    # eidf = trMV^2/trMVMV

    Returns
    -------
    trMV, trMVMV, eidf : float
    """
    from refglm.glm.spm_linalg import SpmSpace

    space = SpmSpace(X1o)
    u = space.u[:, : space.rk]
    Vu = V @ u
    trMV = float(np.sum(u * Vu))
    uVu = u.T @ Vu
    trMVMV = float(np.sum(uVu * uVu))
    return trMV, trMVMV, trMV**2 / trMVMV


def spm_t_contrast(c, beta, ResMS, Bcov, contrast_dtype: str = "float32_images"):
    r"""SPM12's con and T images of a t contrast, SPM12 ``spm_contrasts.m``.

    .. math::
        \mathrm{con} = \sum_{j:\, c_j \ne 0} c_j \hat\beta_j,\qquad
        T = \frac{\mathrm{con}}{\sqrt{\mathrm{ResMS}\cdot c^T B c}}

    with :math:`B` = ``Bcov``. Under ``'float32_images'`` each :math:`\hat\beta_j` is
    the float32 image SPM reads back, con is accumulated in c's order in float64 and
    stored as float32, and T is computed from that stored con and stored as float32.
    # SPM12 spm_contrasts.m lines 136-141 (cB = cB + c(Q(j)) * spm_data_read(V(j))) and
    # 217-219 (Vc = c'*Bcov*c; SE = sqrt(l*Vc); Z = cB./SE)

    Returns
    -------
    con, T : ndarray, shape (n_voxels,), float64 (holding float32 values when stored so)
    """
    c = np.asarray(c, dtype=np.float64).ravel()
    beta = _as_stored(beta, contrast_dtype)
    con = np.zeros(beta.shape[1])
    for j in np.flatnonzero(np.abs(c) > 0):
        con = con + c[j] * beta[j]
    con = _as_stored(con, contrast_dtype)
    Vc = float((c @ Bcov) @ c)
    T = con / np.sqrt(np.asarray(ResMS, dtype=np.float64) * Vc)
    return con, _as_stored(T, contrast_dtype)


def spm_f_contrast(Hsqr, trMV: float, beta, ResMS, contrast_dtype: str = "float32_images"):
    r"""SPM12's ESS and F images of an F contrast, SPM12 ``spm_contrasts.m``.

    .. math:: \mathrm{ESS} = \sum_i \big(H\hat\beta\big)_i^2,\qquad
              F = \frac{\mathrm{ESS} / \mathrm{tr}(MV)}{\mathrm{ResMS}}

    with :math:`H` = ``Hsqr`` (:func:`spm_contrast_space`) and :math:`\mathrm{tr}(MV)`
    from :func:`spm_contrast_df`; stored (and read back) as float32 under
    ``'float32_images'``.
    # SPM12 spm_contrasts.m lines 176-182 (ss = sum((h*ss).^2,1)) and 272-274
    # (MVM = ess/trMV; Z = MVM./RVR)

    Returns
    -------
    ess, F : ndarray, shape (n_voxels,)
    """
    beta = _as_stored(beta, contrast_dtype)
    ess = _as_stored(np.sum((Hsqr @ beta) ** 2, axis=0), contrast_dtype)
    F = (ess / trMV) / np.asarray(ResMS, dtype=np.float64)
    return ess, _as_stored(F, contrast_dtype)
