"""One voxel of a first-level GLM, traced number by number.

:func:`trace_voxel` refits a single voxel from its raw time series and the
design matrix, calling statsmodels directly (``sm.OLS``, then the
convention's GLSAR class from :func:`refglm.glm.engines.statsmodels.glsar_class`), so that it is
independent of the per-voxel loop of :func:`refglm.glm.engines.statsmodels.run_glm` and of the
contrast code of :mod:`refglm.glm.contrasts`. Each intermediate quantity is kept
with the formula that produced it; ``tests/first_level/test_trace.py`` checks that the
numbers equal the full fit's at the same voxel.

The steps follow nistats 0.0.1rc0 ``first_level_model.py`` (``mean_scaling``,
``run_glm``) and ``contrasts.py`` (``compute_contrast``):

1. raw series :math:`y` (float32 under the ``'nistats'`` convention) and its mean;
2. percent signal change :math:`s_t = 100\\,(y_t / \\max(\\bar y, 1) - 1)`;
3. OLS :math:`\\hat\\beta = X^+ s`, residuals :math:`r = s - X\\hat\\beta`;
4. :math:`\\hat\\rho = \\sum_t r_t r_{t-1} / \\sum_t r_t^2`, then binned;
5. whitening :math:`\\tilde s_t = s_t - \\rho s_{t-1}` (scan 0 per convention);
6. GLSAR :math:`\\tilde\\beta = (\\tilde X^T \\tilde X)^+ \\tilde X^T \\tilde s`,
   :math:`\\hat\\sigma^2 = \\lVert \\tilde s - \\tilde X \\tilde\\beta \\rVert^2 / \\nu`;
7. contrast effect :math:`c\\tilde\\beta`, variance
   :math:`c (\\tilde X^T \\tilde X)^+ c^T \\hat\\sigma^2`, t, one-sided p, z.

Under SPM12's estimation (``ar_fit='spm_reml'``, the ``spm12`` convention),
:func:`trace_spm_voxel` follows ``spm_spm.m`` instead: the scaled series
:math:`s = y\\,gSF`, the whitened, filtered series :math:`KWs` and design :math:`KWX`
(``sm.OLS`` on them), beta, ResSS, :math:`\\mathrm{tr}(RV)`, ResMS, the effective df
``erdf`` and SPM's T (and F). The matrices of the whole volume (the scale factors, SPM's
ReML :math:`V` and :math:`W`, the drift basis :math:`X_0`) come from the fitted model.

This module holds numerics only: no file input or output, no plotting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from refglm.conventions import get_convention
from refglm.exceptions import InputError
from refglm.first_level.trace_record import TraceStep, VoxelTrace
from refglm.glm.contrasts import (
    DOFMAX,
    TINY,
    as_contrast_matrix,
    f_quadratic_form,
    f_weights,
    z_from_p,
)
from refglm.glm.engines import check_noise_model
from refglm.glm.engines.statsmodels import contrast_cov, glsar_class, residual_variance
from refglm.glm.noise import ar1_whiten, bin_rho, estimate_rho
from refglm.glm.scaling import signal_dtype

__all__ = ["trace_voxel", "trace_spm_voxel"]


def _contrast_label(definition) -> str:
    if isinstance(definition, str):
        return definition
    if isinstance(definition, list | tuple) and all(isinstance(r, str) for r in definition):
        return "[" + ", ".join(definition) + "]"
    return str(np.asarray(definition).tolist())


def _shape(a) -> str:
    return " x ".join(str(n) for n in np.shape(a))


def _z_formula(z_method: str, cdf: str) -> str:
    """The z conversion of ``contrasts.z_from_p`` as text; ``cdf`` is the statistic's CDF.

    ``'two_tailed_ppf'`` (nilearn) takes :math:`\\Phi^{-1}` of the CDF itself
    where :math:`\\Phi^{-1}(1 - p)` would be negative, that is where p > 1/2.
    """
    if z_method == "isf_clipped":
        return "Phi^-1(1 - clip(p, 1e-300, 1 - 1e-16))"
    if z_method == "two_tailed_ppf":
        return f"Phi^-1(1 - clip(p)); Phi^-1(clip({cdf})) where p > 1/2"
    return z_method


#: The z difference the quantization note measures against (compare's default tolerance).
Z_QUANTIZATION_TOLERANCE = 1e-6


def _z_quantization(p: float, z: float, df: float, z_method: str, stat: str = "t"):
    r"""The trace step saying whether this voxel's z sits on the quantized range of p.

    Returns ``(formula, value)``. Under ``'isf_clipped'`` (nistats' ``norm.isf(p)``), p
    above 1/2 can only be :math:`1 - k\,2^{-53}`, and below :math:`z^*` (where one
    spacing moves z by more than :data:`Z_QUANTIZATION_TOLERANCE`: -6.6336,
    :func:`refglm.glm.z_quantization.quantization_onset`) z moves in steps of
    :math:`\Phi^{-1}(1 - (p \mp 2^{-53})) - \Phi^{-1}(1 - p)`: the voxel's two
    neighbouring levels are printed. For a t statistic the formula also gives the t
    where it begins, :math:`t^* = F_t^{-1}(\Phi(z^*); \nu)` (-7.6893 at nu = 80).
    Under ``'two_tailed_ppf'`` (nilearn) z is :math:`\Phi^{-1}(F(\text{stat}))` where
    p > 1/2: not quantized. Other methods: ``None``.
    """
    from refglm.glm.z_quantization import ULP_BELOW_ONE, quantization_onset, quantization_step

    if z_method == "two_tailed_ppf":
        return (
            "z from the CDF where p > 1/2 (nilearn)",
            f"not quantized: z = Phi^-1(F({stat})) where p > 1/2",
        )
    if z_method != "isf_clipped":
        return None
    tol = Z_QUANTIZATION_TOLERANCE
    z_star, _ = quantization_onset(tol)
    formula = f"1 - p = k 2^-53; one spacing of p moves z by > {tol:g} below z* = {z_star:.4f}"
    if stat == "t":
        t_star = float(stats.t.ppf(stats.norm.cdf(z_star), min(df, DOFMAX)))
        formula += f" (t < t* = {t_star:.4f} at nu = {df:g})"
    if p <= 0.5:
        return formula, "not quantized (p <= 1/2, where float64 spacings are relative)"
    if z > z_star:
        step = float(quantization_step(z))
        return formula, f"not quantized here (step 2^-53/phi(z) = {step:.2g} < {tol:g})"
    k = round((1.0 - p) / ULP_BELOW_ONE)
    if k <= 1:
        return formula, (
            f"at the floor: z = norm.isf(1 - 1e-16) = {z:.4f}, the lowest z nistats' "
            "formula can give (1 - 1e-16 rounds to 1 - 2^-53)"
        )
    above = float(stats.norm.isf(p - ULP_BELOW_ONE))
    below = float(stats.norm.isf(p + ULP_BELOW_ONE))
    return formula, (
        f"quantized: 1 - p = {k} spacings of 2^-53; the next levels are z = {above:.6f} "
        f"and {below:.6f} (steps {above - z:.3g} and {z - below:.3g}); a peer whose p "
        "differs in its last bit (another scipy's t.sf) gives one of them"
    )


def trace_voxel(
    raw,
    design: pd.DataFrame,
    contrast="active - rest",
    f_contrast=None,
    *,
    noise_model: str = "ar1",
    convention="nistats",
    signal_scaling: bool = True,
) -> VoxelTrace:
    r"""Refit one voxel step by step with statsmodels and keep every number.

    Parameters
    ----------
    raw : array of shape (n_scans,)
        The voxel's raw time series in the dtype the run is held in
        (``refglm.first_level.model.run_dtype``: float32 for the tutorial's 3-D volumes, as
        ``nilearn.image.concat_imgs(dtype=np.float32)`` stacked them).
    design : pandas.DataFrame, shape (n_scans, p)
        The run's design matrix (``FirstLevelModel.design_matrices_[0]``).
    contrast : str or array of shape (p,)
        A t contrast (an expression over the columns, or weights).
    f_contrast : list of str, array of shape (q, p), or None
        An optional F contrast (``['active', 'rest']`` is the tutorial's).
    noise_model : {'ar1', 'ols'}
    convention : str or Convention
        Chooses the AR estimator, binning, scan-0 whitening and z formula.
    signal_scaling : bool
        Scale to percent signal change around the mean (nistats default).

    Returns
    -------
    VoxelTrace
        With ``steps``, the ordered list of :class:`TraceStep`.

    Notes
    -----
    Per-voxel mathematics of nistats 0.0.1rc0 ``first_level_model.py``
    (``mean_scaling``, ``run_glm``), ``regression.py`` (``ARModel``) and
    ``contrasts.py`` (``compute_contrast``, ``Contrast.z_score``), computed here
    with ``statsmodels.api.OLS`` and
    ``refglm.glm.engines.statsmodels.glsar_class(convention.whiten_scan0)`` (a
    ``statsmodels`` ``GLSAR``).
    """
    conv = get_convention(convention)
    check_noise_model(noise_model)
    if noise_model not in ("ar1", "ols"):
        raise InputError(
            f"noise_model: expected 'ar1' or 'ols' (the voxel trace follows AR(1) fits), "
            f"found {noise_model!r}; trace an AR(1) or OLS model of the voxel."
        )
    if conv.ar_fit == "spm_reml":
        raise InputError(
            f"convention {conv.name!r}: SPM's estimation needs the whole volume's scale "
            "factors, ReML and drift basis; trace the voxel with trace_spm_voxel (refglm "
            "explain-voxel --convention spm12 does)."
        )
    raw = np.asarray(raw)
    # nilearn signal.py _ensure_float, as FirstLevelModel holds the masked signals
    y = raw.astype(signal_dtype(raw.dtype), copy=False)
    if conv.scaling_dtype == "float64":
        y = y.astype(np.float64)
    if y.ndim != 1 or y.shape[0] != design.shape[0]:
        raise InputError(
            f"raw: expected one value per scan ({design.shape[0]}), found shape {y.shape}; "
            "pass the voxel's time series of this run."
        )
    if not np.all(np.isfinite(y)):
        raise InputError("raw: the voxel's series has NaN or Inf values; it is not fitted.")
    X = design.to_numpy(dtype=np.float64)
    columns = [str(c) for c in design.columns]
    steps: list[TraceStep] = []

    def step(name, formula, value):
        steps.append(TraceStep(name, formula, value))
        return value

    step("raw series y", f"voxel values of the {y.shape[0]} volumes ({raw.dtype})", raw)
    # nistats mean_scaling: mean = Y.mean(0) over a C-ordered (n_scans, n_voxels) array,
    # which numpy sums scan after scan in Y's dtype; then Y = 100 * (Y / max(mean, 1) - 1)
    mean = np.true_divide(np.cumsum(y, dtype=y.dtype)[-1], y.shape[0], dtype=y.dtype)
    step("mean of y", f"(((y_0 + y_1) + y_2) + ... + y_n-1) / n   ({y.dtype})", float(mean))
    if signal_scaling:
        scaled = 100 * (y / np.maximum(mean, 1) - 1)
        step("scaled series s", f"s_t = 100 * (y_t / max(mean, 1) - 1)   ({y.dtype})", scaled)
    else:
        scaled = y
    s = np.asarray(scaled, dtype=np.float64)
    step("design columns", f"the {X.shape[1]} columns of X ({_shape(X)})", ", ".join(columns))
    step("design row X[0]", "X[0, :], one value per column above", X[0])
    for col in columns:
        if not (col.startswith("drift_") or col == "constant"):
            step(
                f"design column {col}",
                "HRF-convolved regressor X[:, col]",
                X[:, columns.index(col)],
            )

    ols = sm.OLS(s, X).fit()
    ols_beta = np.asarray(ols.params)
    resid = np.asarray(ols.resid)
    for k, col in enumerate(columns[:2]):
        step(f"OLS beta[{col}]", "b = pinv(X) s   (statsmodels OLS)", float(ols_beta[k]))
    step("OLS residuals r", "r = s - X b", resid)

    if noise_model == "ar1" and conv.ar_fit == "iterative":
        # statsmodels GLSAR(y, X, rho=1).iterative_fit(maxiter=3), as fit.run_glm calls it
        lag1_sum = float(np.sum(resid[1:] * resid[:-1]))
        resid_ss = float(np.sum(resid**2))
        model = sm.GLSAR(s, X, rho=1)
        res = model.iterative_fit(maxiter=3)
        rho_raw = rho = float(model.rho[0])
        step("rho (iterative)", "statsmodels GLSAR.iterative_fit(maxiter=3)", rho)
        whitened = np.asarray(model.wendog)
        wexog = np.asarray(model.wexog)
        step("whitened series s~", "s~_t = s_t - rho * s_(t-1); scan 0 dropped", whitened)
        beta_formula = "b~ = pinv(X~) s~   (statsmodels GLSAR, iterated)"
    elif noise_model == "ar1":
        lag1_sum = float(np.sum(resid[1:] * resid[:-1]))
        resid_ss = float(np.sum(resid**2))
        step("lag-1 sum", "sum_{t>=1} r_t * r_{t-1}", lag1_sum)
        step("residual sum of squares", "sum_t r_t^2", resid_ss)
        if conv.ar_estimator == "lag1_ratio":
            # nistats run_glm: (resid[1:] * resid[:-1]).sum(0) / (resid ** 2).sum(0)
            rho_raw = lag1_sum / resid_ss
            rho_formula = "rho_raw = lag-1 sum / residual sum of squares"
        else:
            # nilearn's 'yule_walker' demeans by the mean residual of *all* voxels, which a
            # single voxel cannot see; OLS residuals with a constant have a mean of ~1e-16,
            # so this voxel's own mean stands in for it (equal to rounding, not bitwise)
            rho_raw = float(estimate_rho(resid[:, None], conv.ar_estimator)[0])
            rho_formula = (
                f"{conv.ar_estimator}: n/(n-1) sum e_t e_(t-1) / sum e_t^2, e = r - mean(r)"
            )
        step("rho raw", rho_formula, rho_raw)
        rho = float(bin_rho(np.array([rho_raw]), conv.ar_bins, conv.ar_binning)[0])
        step(
            "rho binned",
            f"{conv.ar_binning} to 1/{conv.ar_bins}: int(rho_raw * {conv.ar_bins}) / {conv.ar_bins}"
            if conv.ar_binning == "truncate"
            else f"{conv.ar_binning} to 1/{conv.ar_bins}",
            rho,
        )
        model = glsar_class(conv.whiten_scan0)(s, X, rho=rho)
        res = model.fit()
        whitened = np.asarray(model.wendog)
        wexog = np.asarray(model.wexog)
        scan0 = {
            "keep": "s~_0 = s_0",
            "drop": "scan 0 dropped",
            "prais_winsten": "s~_0 = sqrt(1 - rho^2) s_0",
        }[conv.whiten_scan0]
        step("whitened series s~", f"s~_t = s_t - rho * s_(t-1); {scan0}", whitened)
        # the explicit filter must be what the GLSAR class applied
        if not np.array_equal(ar1_whiten(s, rho, conv.whiten_scan0), whitened):
            raise AssertionError("GLSAR whitening differs from noise.ar1_whiten")
        beta_formula = "b~ = pinv(X~) s~   (statsmodels GLSAR, fixed rho)"
    else:
        lag1_sum = resid_ss = rho_raw = float("nan")
        rho = 0.0
        res = ols
        whitened = s
        wexog = X
        beta_formula = "b = pinv(X) s   (statsmodels OLS)"

    if noise_model == "ar1":
        step("whitened design X~", "X~_t = X_t - rho * X_(t-1); scan 0 as for s~", wexog)
        for col in columns:
            if not (col.startswith("drift_") or col == "constant"):
                step(f"whitened column {col}", "X~[:, col]", wexog[:, columns.index(col)])
    beta = np.asarray(res.params)
    for k, col in enumerate(columns[:2]):
        step(f"AR beta[{col}]" if noise_model == "ar1" else f"beta[{col}]", beta_formula, beta[k])
    wfitted = wexog @ beta
    wresid = whitened - wfitted
    sigma2 = float(residual_variance(res, conv.df_scale))
    df = float(res.df_resid)
    step("whitened residuals e~", "e~ = s~ - X~ b~", wresid)
    step("whitened sum of squares", "sum_t e~_t^2", float(np.sum(wresid**2)))
    step("residual df", "nu = n_whitened - rank(X)", int(df) if df.is_integer() else df)
    if conv.df_scale == "rank":
        step("residual variance", "sigma^2 = sum(e~_t^2) / nu", sigma2)
    else:  # nistats' and nilearn's dispersion: over n - columns
        step("residual variance", "sigma^2 = sum(e~_t^2) / (n_whitened - columns)", sigma2)
    cov = contrast_cov(res, conv.cov_pinv)
    step("(X~'X~)^+", f"P P' with P = pinv(X~) ({conv.cov_pinv}'s pinv)", cov)

    C = as_contrast_matrix(contrast, columns)
    if C.shape[0] != 1:
        raise InputError(
            f"contrast {_contrast_label(contrast)}: expected one row (a t contrast), found "
            f"{C.shape[0]}; pass the F contrast as f_contrast."
        )
    c = C[0]
    label = _contrast_label(contrast)
    effect = float(c @ beta)
    variance = float(np.dot(c, np.dot(cov, c)) * sigma2)  # contrasts.compute_contrast order
    t = effect / np.sqrt(max(variance, TINY))
    p = float(stats.t.sf(t, min(df, DOFMAX)))
    z = float(z_from_p(p, conv.z_method, one_minus_p=stats.t.cdf(t, min(df, DOFMAX))))
    step("contrast c", label, c)
    step("contrast effect", "c . b~", effect)
    step("c (X~'X~)^+ c'", "unscaled contrast variance", float(np.dot(c, np.dot(cov, c))))
    step("contrast variance", "c (X~'X~)^+ c' sigma^2", variance)
    step("t", "effect / sqrt(variance)", float(t))
    step("p (one-sided)", f"1 - F_t(t; nu={df:g})", p)
    step("z", _z_formula(conv.z_method, "F_t(t; nu)"), z)
    if (note := _z_quantization(p, z, df, conv.z_method)) is not None:
        step("z quantization", *note)

    trace = VoxelTrace(
        design=design,
        raw=y,
        mean=float(mean),
        scaled=np.asarray(scaled),
        ols_beta=ols_beta,
        ols_fitted=np.asarray(ols.fittedvalues),
        ols_resid=resid,
        lag1_sum=lag1_sum,
        resid_ss=resid_ss,
        rho_raw=rho_raw,
        rho=rho,
        whitened=whitened,
        whitened_design=wexog,
        beta=beta,
        whitened_fitted=wfitted,
        whitened_resid=wresid,
        sigma2=sigma2,
        df=df,
        cov_unscaled=cov,
        contrast_name=label,
        contrast=c,
        effect=effect,
        variance=variance,
        t=float(t),
        p=p,
        z=z,
        noise_model=noise_model,
        convention=conv.name,
        steps=steps,
    )
    if f_contrast is not None:
        F_mat = as_contrast_matrix(f_contrast, columns)
        q = F_mat.shape[0]
        eff = F_mat @ beta
        # contrasts.compute_contrast's own steps: the pseudo-inverse and df1 = rank when
        # rows are dependent (statsmodels f_test), sqrtm whitening, sigma^2 floored at 1e-50
        ccov = np.dot(F_mat, np.dot(cov, F_mat.T))
        weights, ranks = f_weights(F_mat, ccov[None])
        r = int(ranks[0])
        quad = float(f_quadratic_form(eff[:, None], weights, np.zeros(1, dtype=int), ranks)[0])
        f = quad / r / max(sigma2, TINY)
        f_p = float(stats.f.sf(f, r, min(df, DOFMAX)))
        f_z = float(z_from_p(f_p, conv.z_method, one_minus_p=stats.f.cdf(f, r, min(df, DOFMAX))))
        trace.f_contrast_name = _contrast_label(f_contrast)
        trace.f_contrast = F_mat
        trace.f, trace.f_p, trace.f_z = f, f_p, f_z
        step("F contrast C", f"{q} rows: {trace.f_contrast_name}", f"{q} x {F_mat.shape[1]}")
        step("F", "|| (C (X~'X~)^+ C')^(-1/2) C b~ ||^2 / (r max(sigma^2, 1e-50))", f)
        step("F p", f"1 - F_F(F; r={r}, nu={df:g})", f_p)
        step("F z", _z_formula(conv.z_method, "F_F(F; q, nu)"), f_z)
        if (note := _z_quantization(f_p, f_z, df, conv.z_method, stat="F")) is not None:
            step("F z quantization", *note)
    return trace


def _stored(value, conv):
    """``value`` as the float32 image SPM stores and reads back, under ``contrast_dtype``."""
    if conv.contrast_dtype == "float32_images":
        return np.asarray(value, dtype=np.float32).astype(np.float64)
    return np.asarray(value, dtype=np.float64)


def trace_spm_voxel(
    raw,
    design: pd.DataFrame,
    drift_basis,
    scale_factors,
    whitening,
    covariance,
    contrast="active",
    f_contrast=None,
    *,
    noise_model: str = "ar1",
    convention="spm12",
    reml_hyperparameters=None,
    mask_thresholds=None,
) -> VoxelTrace:
    r"""Refit one voxel as SPM12's ``spm_spm.m`` does, step by step, and keep every number.

        The volume's matrices are given (they need every voxel); the voxel's own numbers
        are computed here, with ``statsmodels.api.OLS`` on the whitened, filtered data:

        1. scaled series :math:`s_t = y_t\, gSF_t` (SPM reads ``raw * gSF``);
        2. the ReML's OLS fit of the filtered series, :math:`Ks` on :math:`KX` (its
           selection F test);
        3. :math:`	ilde s = K W s`, :math:`	ilde X = K W X`, :math:`K = I - X_0X_0^T`;
        4. :math:`\hateta = 	ilde X^+ 	ilde s`, :math:`\mathrm{ResSS} = \lVert	ilde s -
            ilde X\hateta
    Vert^2`;
        5. :math:`\mathrm{tr}(RV)`, :math:`\mathrm{tr}(RVRV)`, ``erdf`` and ``Bcov``
           (``refglm.glm.engines.spm_design_space``), :math:`\mathrm{ResMS} =
           \mathrm{ResSS}/\mathrm{tr}(RV)`;
        6. :math:`\mathrm{con} = c^T\hateta`, :math:`T = \mathrm{con} / \sqrt{\mathrm{ResMS}\,
           c^T B c}` (float32 images under ``contrast_dtype='float32_images'``), p from
           Student's t on ``erdf`` df, :math:`z = \Phi^{-1}(1 - p)`.

        # SPM12 spm_spm.m lines 440-462 and 620-638; spm_contrasts.m lines 136-141, 217-219

        Parameters
        ----------
        raw : array of shape (n_scans,)
            The voxel's raw series (double precision, as SPM reads it).
        design : pandas.DataFrame
            SPM's ``xX.X`` (``FirstLevelModel.design_matrices_[0]``).
        drift_basis : pandas.DataFrame or ndarray (n_scans, k)
            SPM's ``K.X0`` (``FirstLevelModel.drift_basis_``).
        scale_factors : array of shape (n_scans,)
            SPM's ``xGX.gSF`` (``FirstLevelModel.scale_factors_``).
        whitening, covariance : ndarray (n_scans, n_scans)
            SPM's ``xX.W`` and ``xVi.V`` (``whitening_matrix_``, ``noise_correlation_``).
        contrast : str or array of shape (p,)
            A t contrast.
        f_contrast : list of str, array (q, p) or None
        noise_model : {'ar1', 'ols'}
        convention : str or Convention
            ``spm12`` or a flip of it that keeps ``ar_fit='spm_reml'``.
        reml_hyperparameters, mask_thresholds : ndarray or None
            SPM's ``xVi.h`` and ``xM.TH``, shown when given.

        Returns
        -------
        VoxelTrace
            ``scaled`` is :math:`s`; ``ols_*`` the ReML selection's OLS fit (``ols_fitted``
            in the scaled series' units: :math:`s` minus its residuals); ``rho`` the lag-1
            correlation of SPM's :math:`V`; ``whitened`` :math:`KWs`; ``whitened_design``
            :math:`KWX`; ``sigma2`` ResMS; ``df`` erdf; ``cov_unscaled`` Bcov.
    """
    from refglm.glm.contrasts import spm_contrast_df, spm_contrast_space
    from refglm.glm.engines import spm_design_space
    from refglm.glm.filtering import spm_filter

    conv = get_convention(convention)
    check_noise_model(noise_model)
    if conv.ar_fit != "spm_reml":
        raise InputError(
            f"convention {conv.name!r}: expected ar_fit='spm_reml' (SPM's estimation), found "
            f"{conv.ar_fit!r}; trace this convention with trace_voxel."
        )
    y = np.asarray(raw, dtype=np.float64)
    n = design.shape[0]
    if y.ndim != 1 or y.shape[0] != n:
        raise InputError(
            f"raw: expected one value per scan ({n}), found shape {y.shape}; pass the voxel's "
            "time series of this run."
        )
    X = design.to_numpy(dtype=np.float64)
    X0 = np.asarray(drift_basis, dtype=np.float64)
    W = np.asarray(whitening, dtype=np.float64)
    V = np.asarray(covariance, dtype=np.float64)
    gSF = np.asarray(scale_factors, dtype=np.float64)
    columns = [str(c) for c in design.columns]
    steps: list[TraceStep] = []

    def step(name, formula, value):
        steps.append(TraceStep(name, formula, value))
        return value

    step("raw series y", f"voxel values of the {n} volumes (double precision)", y)
    step("scale factors gSF", "100 / mean(globals) (global None) or 100 / global_t", gSF)
    scaled = step("scaled series s", "s_t = y_t * gSF_t   (spm_fmri_spm_ui.m, file_array)", y * gSF)
    if mask_thresholds is not None:
        margin = float(np.min(scaled - np.asarray(mask_thresholds, dtype=np.float64)))
        step("implicit mask margin", "min_t (s_t - TH_t) > 0: in SPM's mask", margin)
    step("design columns", f"the {X.shape[1]} columns of xX.X ({_shape(X)})", ", ".join(columns))
    for col in columns[:-1]:
        step(
            f"design column {col}", "spm_fMRI_design regressor X[:, col]", X[:, columns.index(col)]
        )
    step("drift basis X0", f"{X0.shape[1]} DCT columns of spm_filter (K = I - X0 X0')", X0)

    # the ReML's selection fit: OLS of the filtered data (spm_est_non_sphericity.m)
    Ks, KX = spm_filter(X0, scaled[:, None])[:, 0], spm_filter(X0, X)
    ols = sm.OLS(Ks, KX).fit()
    ols_beta, ols_resid = np.asarray(ols.params), np.asarray(ols.resid)
    for k, col in enumerate(columns[:2]):
        step(f"OLS beta[{col}]", "pinv(KX) K s   (the ReML's voxel selection fit)", ols_beta[k])
    if reml_hyperparameters is not None and np.size(reml_hyperparameters):
        step(
            "ReML hyperparameters h",
            "spm_reml on the pooled Cy, [X X0], AR(0.2)",
            np.asarray(reml_hyperparameters),
        )
    rho = float(V[1, 0] / V[0, 0])
    step("V lag-1 correlation", "V(2,1) / V(1,1), V = sum h_i Q_i scaled to trace n", rho)
    step("W row 0", "W = spm_sqrtm(spm_inv(V)), |W| <= 1e-6 set to 0", W[0])

    KWs = step(
        "whitened, filtered s~",
        "s~ = K W s   (spm_spm.m: KWY = spm_filter(K, W*Y))",
        spm_filter(X0, W @ scaled[:, None])[:, 0],
    )
    KWX = spm_filter(X0, W @ X)
    step("whitened, filtered design X~", "X~ = K W X   (xX.xKXs)", KWX)
    for col in columns[:-1]:
        step(f"whitened column {col}", "X~[:, col]", KWX[:, columns.index(col)])
    res = sm.OLS(KWs, KWX).fit()
    beta = np.asarray(res.params)
    for k, col in enumerate(columns[:2]):
        step(f"beta[{col}]", "b = pinv(X~) s~   (statsmodels OLS)", beta[k])
    wfitted = KWX @ beta
    wresid = KWs - wfitted
    ResSS = step("ResSS", "sum_t (s~ - X~ b)_t^2", float(res.ssr))
    space = spm_design_space(X, X0, W, V, conv.df, conv.cov_pinv, pinv_KWX=res.model.pinv_wexog)
    step("trRV", "tr(V) - sum(u .* (V u)), u = orth(X~), V = K W V W' K'", space.trRV)
    step("trRVRV", "||V||^2 - 2 ||V u||^2 + ||u' V u||^2", space.trRVRV)
    step("erdf", "trRV^2 / trRVRV   (effective df)", space.erdf)
    sigma2 = step(
        "ResMS",
        "ResSS / trRV" if conv.df == "spm_effective" else f"ResSS / {space.denominator:g}",
        ResSS / space.denominator,
    )
    Bcov = step("Bcov", "pinv(X~) K W V W' K' pinv(X~)'", space.Bcov)

    C = as_contrast_matrix(contrast, columns)
    if C.shape[0] != 1:
        raise InputError(
            f"contrast {_contrast_label(contrast)}: expected one row (a t contrast), found "
            f"{C.shape[0]}; pass the F contrast as f_contrast."
        )
    c = C[0]
    label = _contrast_label(contrast)
    stored_beta = _stored(beta, conv)
    con = 0.0
    for j in np.flatnonzero(np.abs(c) > 0):
        con = con + c[j] * stored_beta[j]
    con = float(_stored(con, conv))
    Vc = float((c @ Bcov) @ c)
    t = float(_stored(con / np.sqrt(sigma2 * Vc), conv))
    df = float(space.df_resid)
    p = float(stats.t.sf(t, min(df, DOFMAX)))
    z = float(z_from_p(p, conv.z_method, one_minus_p=stats.t.cdf(t, min(df, DOFMAX))))
    step("contrast c", label, c)
    step(
        "con",
        "sum_j c_j b_j   ("
        + ("float32 images)" if conv.contrast_dtype == "float32_images" else "float64)"),
        con,
    )
    step("c' Bcov c", "unscaled contrast variance", Vc)
    step("T", "con / sqrt(ResMS c' Bcov c)", t)
    step("p (one-sided)", f"1 - F_t(T; erdf={df:g})", p)
    step("z", _z_formula(conv.z_method, "F_t(T; erdf)"), z)
    if (note := _z_quantization(p, z, df, conv.z_method)) is not None:
        step("z quantization", *note)
    trace = VoxelTrace(
        design=design,
        raw=y,
        mean=float(np.mean(y)),
        scaled=scaled,
        ols_beta=ols_beta,
        ols_fitted=scaled - ols_resid,
        ols_resid=ols_resid,
        lag1_sum=float(np.sum(ols_resid[1:] * ols_resid[:-1])),
        resid_ss=float(np.sum(ols_resid**2)),
        rho_raw=rho,
        rho=rho,
        whitened=KWs,
        whitened_design=KWX,
        beta=beta,
        whitened_fitted=wfitted,
        whitened_resid=wresid,
        sigma2=float(sigma2),
        df=df,
        cov_unscaled=Bcov,
        contrast_name=label,
        contrast=c,
        effect=con,
        variance=float(Vc * sigma2),
        t=t,
        p=p,
        z=z,
        noise_model=noise_model,
        convention=conv.name,
        steps=steps,
    )
    if f_contrast is not None:
        F_mat = as_contrast_matrix(f_contrast, columns)
        _, X1o, Hsqr = spm_contrast_space(space.xKXs, F_mat.T)
        trMV, _, eidf = spm_contrast_df(X1o, space.xX_V)
        ess = float(_stored(np.sum((Hsqr @ stored_beta) ** 2), conv))
        f = float(_stored((ess / trMV) / sigma2, conv))
        f_p = float(stats.f.sf(f, eidf, min(df, DOFMAX)))
        f_z = float(z_from_p(f_p, conv.z_method, one_minus_p=stats.f.cdf(f, eidf, min(df, DOFMAX))))
        trace.f_contrast_name = _contrast_label(f_contrast)
        trace.f_contrast = F_mat
        trace.f, trace.f_p, trace.f_z = f, f_p, f_z
        step(
            "F contrast C",
            f"{F_mat.shape[0]} rows: {trace.f_contrast_name}",
            f"{F_mat.shape[0]} x {F_mat.shape[1]}",
        )
        step("ESS", "sum((Hsqr b)^2)   (spm_FcUtil 'Hsqr')", ess)
        step("trMV, eidf", "tr(M V); trMV^2 / trMVMV", f"{trMV:.6f}, {eidf:.6f}")
        step("F", "(ESS / trMV) / ResMS", f)
        step("F p", f"1 - F_F(F; eidf={eidf:g}, erdf={df:g})", f_p)
        step("F z", _z_formula(conv.z_method, "F_F(F; eidf, erdf)"), f_z)
        if (note := _z_quantization(f_p, f_z, df, conv.z_method, stat="F")) is not None:
            step("F z quantization", *note)
    return trace
