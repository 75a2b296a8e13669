"""The methods paragraph and parameter table of the report, generated from the model.

:func:`methods_paragraph` chooses each sentence by a parameter value or a
choice of ``refglm.conventions.Convention`` (``_CHOICE_TEXT``);
:func:`parameter_rows` lists the parameters and the convention's choices.
"""

from __future__ import annotations

__all__ = ["methods_paragraph", "parameter_rows"]


_HRF_TEXT = {
    "spm": "the SPM canonical haemodynamic response function (HRF)",
    "spm + derivative": "the SPM canonical HRF and its time derivative",
    "spm + derivative + dispersion": "the SPM canonical HRF, its time and dispersion derivatives",
    "glover": "the Glover HRF",
    "glover + derivative": "the Glover HRF and its time derivative",
    "glover + derivative + dispersion": "the Glover HRF, its time and dispersion derivatives",
    "fir": "a finite impulse response (FIR) basis",
    None: "no HRF (boxcars)",
}

_CHOICE_TEXT = {
    ("input_dtype", "float32"): (
        "The volumes were stacked as float32, as nilearn's "
        "<code>concat_imgs(dtype=np.float32)</code> stored them for the tutorial."
    ),
    ("input_dtype", "float64"): "The volumes were stacked as float64.",
    ("input_dtype", "native"): (
        "The run was held in its native dtype: 3-D volumes stacked as float32, as nilearn's "
        "<code>concat_imgs(dtype=np.float32)</code> stacked them for the tutorial (a 4-D "
        "image keeps its stored dtype)."
    ),
    ("scaling_dtype", "input"): "computed in the data's dtype",
    ("scaling_dtype", "float64"): "computed in float64",
    ("ar_estimator", "lag1_ratio"): (
        "the AR(1) coefficient of its residuals was estimated as "
        "&rho; = &Sigma;<sub>t</sub> r<sub>t</sub> r<sub>t&minus;1</sub> / "
        "&Sigma;<sub>t</sub> r<sub>t</sub><sup>2</sup> (nistats)"
    ),
    ("ar_estimator", "yule_walker"): (
        "the AR(1) coefficient of its residuals was estimated by Yule-Walker with global "
        "demeaning (nilearn &ge; 0.7)"
    ),
    ("ar_binning", "truncate"): "truncated toward zero to a grid of 1/{bins}",
    ("ar_binning", "round"): "rounded to a grid of 1/{bins}",
    ("ar_binning", "none"): "used without binning",
    ("whiten_scan0", "keep"): "keeping scan 0 unscaled (nistats <code>ARModel</code>)",
    ("whiten_scan0", "drop"): "dropping scan 0 (statsmodels <code>GLSAR</code>)",
    ("whiten_scan0", "prais_winsten"): "scaling scan 0 by &radic;(1 &minus; &rho;<sup>2</sup>)",
    ("z_method", "isf_clipped"): (
        "z = &Phi;<sup>&minus;1</sup>(1 &minus; p) with p clipped to "
        "[10<sup>&minus;300</sup>, 1 &minus; 10<sup>&minus;16</sup>] (nistats)"
    ),
    ("z_method", "two_tailed_ppf"): (
        "z = &Phi;<sup>&minus;1</sup>(1 &minus; p), from the lower tail for negative t (nilearn)"
    ),
    ("fdr_formula", "nistats"): (
        "the FDR threshold compares the sorted p-values with "
        "&alpha;&middot;(i &minus; &frac12;)/n (nistats)"
    ),
    ("fdr_formula", "bh"): "the FDR threshold is Benjamini-Hochberg's &alpha;&middot;i/n",
}


def _choice(field, value, **fmt) -> str:
    text = _CHOICE_TEXT.get((field, value), f"{field} = {value}")
    return text.format(**fmt)


def methods_paragraph(parameters: dict, convention, design, mask_voxels: int, summaries) -> str:
    """A methods paragraph (HTML) generated from the model's parameters and convention.

    Each sentence is chosen by a parameter value or a choice of
    ``refglm.conventions.Convention`` (see ``_CHOICE_TEXT``), so the text
    changes with the model it describes.
    """
    from refglm import __version__

    columns = [str(c) for c in design.columns]
    n_scans = design.shape[0]
    drifts = [c for c in columns if c.startswith("drift_")]
    events = [c for c in columns if c not in drifts and c != "constant"]
    t_r = float(parameters["t_r"])
    hrf = _HRF_TEXT.get(parameters.get("hrf_model"), str(parameters.get("hrf_model")))
    drift_model = parameters.get("drift_model")
    if drift_model == "cosine":
        hp = float(parameters["high_pass"])
        drift = (
            f"{len(drifts)} discrete cosine drift regressors (high-pass cut-off {hp:g} Hz, "
            f"a period of {1 / hp:g} s)"
        )
    elif drift_model == "polynomial":
        drift = f"polynomial drifts up to order {parameters.get('drift_order', 1)}"
    else:
        drift = "no drift regressors"
    parts = [
        f"The {n_scans} volumes of the run (repetition time {t_r:g} s) were analysed with "
        f"refglm {__version__} under the <code>{convention.name}</code> convention. "
        + _choice("input_dtype", convention.input_dtype),
        f"A brain mask of {mask_voxels} voxels was computed from the mean image "
        "(nilearn's <code>compute_epi_mask</code>), and each voxel's time series was "
        "converted to percent signal change around its mean, "
        "100&nbsp;(y<sub>t</sub> / y&#772; &minus; 1), "
        + _choice("scaling_dtype", convention.scaling_dtype)
        + ".",
        f"The design matrix had {len(columns)} columns: {len(events)} event regressor"
        f"{'s' if len(events) != 1 else ''} ({', '.join(events)}) convolved with {hrf}, "
        f"{drift}, and a constant; frame times 0 to {float(design.index[-1]):g} s.",
    ]
    if parameters.get("noise_model") == "ar1":
        parts.append(
            "Each voxel was fitted by ordinary least squares (statsmodels <code>OLS</code>); "
            + _choice("ar_estimator", convention.ar_estimator)
            + ", "
            + _choice("ar_binning", convention.ar_binning, bins=convention.ar_bins)
            + ", and the model was refitted on AR(1)-whitened data (statsmodels "
            "<code>GLSAR</code> with that fixed coefficient, "
            + _choice("whiten_scan0", convention.whiten_scan0)
            + "). Residual degrees of freedom: n &minus; rank(X)."
        )
    else:
        parts.append(
            "Each voxel was fitted by ordinary least squares (statsmodels <code>OLS</code>); "
            "residual degrees of freedom: n &minus; rank(X)."
        )
    names = ", ".join(f"<code>{s.name}</code> ({s.stat_type})" for s in summaries)
    parts.append(
        f"Contrasts {names} were converted to z through their one-sided p-values, "
        + _choice("z_method", convention.z_method)
        + "."
    )
    sided = "two-sided" if convention.two_sided else "one-sided (positive effects)"
    keep = "&ge;" if convention.threshold_keep_equal else "&gt;"
    parts.append(
        f"Maps were thresholded {sided}, keeping z {keep} threshold; "
        + _choice("fdr_formula", convention.fdr_formula)
        + f"; clusters are sets of voxels joined by {convention.cluster_connectivity}-"
        "connectivity, and cluster tables list each cluster's peak and up to three "
        "subpeaks more than 8 mm apart (nistats <code>get_clusters_table</code>)."
    )
    return " ".join(parts)


def parameter_rows(parameters: dict, convention) -> list[tuple[str, str]]:
    """(name, value) rows of the model parameters, then of the convention's choices."""
    rows = []
    for key in sorted(parameters):
        value = parameters[key]
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        rows.append((key, str(value)))
    for key, value in convention.as_dict().items():
        if key != "name":
            rows.append((f"convention.{key}", str(value)))
    return rows
