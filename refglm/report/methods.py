"""The methods paragraph and parameter table of the report, generated from the model.

:func:`methods_paragraph` chooses each sentence by what the run did: a
parameter value (the engine that computed the numbers among them), the run's
record (its input files, how they were stored and held, the library versions:
:func:`input_text`) or a choice of ``refglm.conventions.Convention``
(``_CHOICE_TEXT``); :func:`engine_summary` is the report header's line on the
engine; :func:`parameter_rows` lists the model parameters and
:func:`convention_rows` the convention's choices.
"""

from __future__ import annotations

from refglm.exceptions import InputError
from refglm.glm.engines import noise_order
from refglm.report.wording import cluster_rule_text, peak_rule_text

__all__ = [
    "methods_paragraph",
    "input_text",
    "summary_text",
    "parameter_rows",
    "convention_rows",
    "engine_summary",
    "RECORD_KEYS",
]

#: The report header's line on how the numbers were computed, by engine.
_ENGINE_SUMMARY = {
    "statsmodels": "first-level GLM fitted voxel by voxel with statsmodels",
    "vectorized": (
        "first-level GLM fitted by the vectorized engine (batched numpy), tested equal to "
        "the statsmodels reference within 1e-10"
    ),
}

# The fit sentences of the methods paragraph, by engine: (OLS, AR refit); the AR refit's
# {ar} is "AR(p)" and {fixed} "that fixed coefficient" (p = 1) or "those fixed coefficients".
_ENGINE_FIT_TEXT = {
    "statsmodels": (
        "Each voxel was fitted by ordinary least squares (statsmodels <code>OLS</code>)",
        "the model was refitted on {ar}-whitened data (statsmodels <code>GLSAR</code> with "
        "{fixed}, ",
    ),
    "vectorized": (
        "The numbers were computed by refglm's <code>vectorized</code> engine: all voxels at "
        "once in batched numpy, with statsmodels' formulas (<code>pinv_extended</code>, rank, "
        "scale), tested equal to the statsmodels reference (<code>OLS</code>, then "
        "<code>GLSAR</code>) to within 10<sup>&minus;10</sup>&nbsp;(1 + |reference|) on every "
        "fitted quantity (docs/performance.md). Each voxel was fitted by ordinary least "
        "squares (one pseudo-inverse of the design for all voxels)",
        "the model was refitted on {ar}-whitened data (one whitened design and its "
        "pseudo-inverse per distinct coefficient, as <code>GLSAR</code> with {fixed}, ",
    ),
}


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
    ("ar_p_estimator", "yule_walker"): (
        "the AR({p}) coefficients of its residuals were estimated by Yule-Walker with global "
        "demeaning (nilearn <code>_yule_walker</code>)"
    ),
    ("ar_p_estimator", "yule_walker_voxel"): (
        "the AR({p}) coefficients of its residuals were estimated by Yule-Walker, each voxel "
        "demeaned (statsmodels <code>yule_walker</code>)"
    ),
    ("ar_p_binning", "kmeans"): (
        "the voxels' coefficient vectors were grouped by KMeans into at most {bins} models, "
        "each named by its centre rounded to 2 decimals (nilearn)"
    ),
    ("ar_p_binning", "none"): "each voxel's own coefficients were used",
    ("whiten_scan0_p", "keep"): (
        "keeping the first {p} scans with the lags they have (nilearn <code>ARModel</code>)"
    ),
    ("whiten_scan0_p", "drop"): "dropping the first {p} scans (statsmodels <code>GLSAR</code>)",
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


def engine_summary(engine: str) -> str:
    """The report header's line on the engine that computed the numbers.

    Parameters
    ----------
    engine : {'statsmodels', 'vectorized'}

    Returns
    -------
    str
        E.g. ``'first-level GLM fitted voxel by voxel with statsmodels'``.
    """
    return _ENGINE_SUMMARY.get(engine, f"first-level GLM fitted by the {engine} engine")


def _choice(field, value, **fmt) -> str:
    text = _CHOICE_TEXT.get((field, value), f"{field} = {value}")
    return text.format(**fmt)


def methods_paragraph(parameters: dict, convention, design, mask_voxels: int, summaries) -> str:
    """A methods paragraph (HTML) generated from the model's parameters and convention.

    Each sentence is chosen by a parameter value or a choice of
    ``refglm.conventions.Convention`` (see ``_CHOICE_TEXT``), so the text
    changes with the model it describes: ``parameters['engine']`` says
    which engine computed the numbers (statsmodels' classes voxel by voxel,
    or the vectorized engine), ``parameters['map_cluster_threshold']`` what
    the maps' cluster-size filter kept.

    Parameters
    ----------
    parameters : dict
        The model parameters (``statmap.json``).
    convention : refglm.conventions.Convention
    design : pandas.DataFrame
    mask_voxels : int
    summaries : list of refglm.first_level.derivatives.ContrastSummary

    Returns
    -------
    str
    """
    from refglm._version import __version__

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
        f"The {n_scans} scans of the run (repetition time {t_r:g} s) were analysed with "
        f"refglm {__version__} under the <code>{convention.name}</code> convention.",
        input_text(parameters, convention),
        _mask_text(parameters, mask_voxels) + ", and each voxel's time series was "
        "converted to percent signal change around its mean, "
        "100&nbsp;(y<sub>t</sub> / y&#772; &minus; 1), "
        + _choice("scaling_dtype", convention.scaling_dtype)
        + ".",
        f"The design matrix had {len(columns)} columns: {len(events)} event regressor"
        f"{'s' if len(events) != 1 else ''} ({', '.join(events)}) convolved with {hrf}, "
        f"{drift}, and a constant; frame times 0 to {float(design.index[-1]):g} s.",
    ]
    engine = parameters.get("engine", "statsmodels")
    ols_text, ar_text = _ENGINE_FIT_TEXT.get(
        engine,
        (
            f"Each voxel was fitted by ordinary least squares ({engine} engine)",
            f"the model was refitted on {{ar}}-whitened data ({engine} engine, ",
        ),
    )
    order = _ar_order(parameters.get("noise_model"))
    if order:
        # AR(1): its own estimator, binning and scan-0 sentences; AR(p >= 2): the p ones
        p = "" if order == 1 else "_p"
        fixed = "that fixed coefficient" if order == 1 else "those fixed coefficients"
        parts.append(
            ols_text
            + "; "
            + _choice("ar" + p + "_estimator", convention.ar_estimator, p=order)
            + ", "
            + _choice(
                "ar_p_binning" if p else "ar_binning",
                convention.ar_p_binning if p else convention.ar_binning,
                bins=convention.ar_bins,
            )
            + ", and "
            + ar_text.format(ar=f"AR({order})", fixed=fixed)
            + _choice("whiten_scan0" + p, convention.whiten_scan0, p=order)
            + "). Residual degrees of freedom: n &minus; rank(X)."
        )
    else:
        parts.append(ols_text + "; residual degrees of freedom: n &minus; rank(X).")
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
        f"connectivity, and cluster tables list {peak_rule_text(_min_distance(summaries))} "
        "(nistats <code>get_clusters_table</code>)."
    )
    n_min = parameters.get("map_cluster_threshold")
    if cluster_rule_text(n_min):
        parts.append(
            f"The cluster-size filter (<code>cluster_threshold={n_min:g}</code>, on the maps "
            f"whose &ldquo;clusters kept&rdquo; says so) removed "
            f"{cluster_rule_text(n_min, 'removed')} and kept {cluster_rule_text(n_min)}."
        )
    versions = parameters.get("versions")
    if versions:
        libraries = [f"{name} {version}" for name, version in versions.items()]
        parts.append(
            "Versions: " + ", ".join(libraries[:-1]) + " and " + libraries[-1] + "."
            if len(libraries) > 1
            else f"Versions: {libraries[0]}."
        )
    return " ".join(p for p in parts if p)


_HRF_SHORT = {"spm": "SPM canonical", "glover": "Glover", "fir": "FIR"}
_NOISE_TEXT = {"ar1": "AR(1) noise model", "ols": "OLS (white noise)"}


def _ar_order(noise_model) -> int:
    """The AR order of a recorded noise model; 0 for OLS, a missing or unreadable one."""
    try:
        return noise_order(noise_model)
    except InputError:
        return 0


def _noise_text(noise_model) -> str:
    """The noise model in words: 'AR(2) noise model' for 'ar2'."""
    if noise_model in _NOISE_TEXT:
        return _NOISE_TEXT[noise_model]
    order = _ar_order(noise_model)
    return f"AR({order}) noise model" if order else str(noise_model)


def summary_text(parameters: dict, design, mask_voxels: int, summaries) -> str:
    """What was fitted, in one sentence (HTML): the report's first line.

    E.g. "A first-level GLM of 96 scans (TR 7 s) with 16 regressors (active,
    rest, 13 cosine drifts, a constant; SPM canonical HRF), AR(1) noise model,
    in a mask of 62073 voxels; contrasts activeMinusRest (t: active - rest)
    and effectsOfInterest (F: active, rest)."
    """
    columns = [str(c) for c in design.columns]
    drifts = [c for c in columns if c.startswith("drift_")]
    events = [c for c in columns if c not in drifts and c != "constant"]
    parts = list(events)
    if drifts:
        parts.append(f"{len(drifts)} {parameters.get('drift_model', '')} drifts".replace("  ", " "))
    if "constant" in columns:
        parts.append("a constant")
    hrf = parameters.get("hrf_model")
    hrf_text = f"; {_HRF_SHORT.get(hrf, hrf)} HRF" if hrf else ""
    noise = _noise_text(parameters.get("noise_model"))
    contrasts = []
    for s in summaries:
        d = s.definition
        what = (
            d
            if isinstance(d, str)
            else ", ".join(map(str, d))
            if isinstance(d, list | tuple)
            else ""
        )
        contrasts.append(f"<code>{s.name}</code> ({s.stat_type}{': ' + what if what else ''})")
    text = (
        f"A first-level GLM of {design.shape[0]} scans (TR {float(parameters['t_r']):g} s) with "
        f"{len(columns)} regressors ({', '.join(parts)}{hrf_text}), {noise}, in a mask of "
        f"{mask_voxels} voxels"
    )
    if contrasts:
        text += "; contrast" + ("s " if len(contrasts) > 1 else " ")
        text += ", ".join(contrasts[:-1]) + (" and " if len(contrasts) > 1 else "") + contrasts[-1]
    return text + "."


def _files(parameters, role):
    return [f for f in parameters.get("input_files") or () if f["role"] == role]


def _mask_text(parameters, mask_voxels) -> str:
    """The mask's clause: given as a file (named) or computed from the mean image."""
    given = _files(parameters, "mask")
    if given:
        name = given[0]["file"] or "an in-memory image"
        return f"The brain mask was given (<code>{name}</code>): {mask_voxels} voxels"
    return (
        f"A brain mask of {mask_voxels} voxels was computed from the mean image "
        "(nilearn's <code>compute_epi_mask</code>)"
    )


def input_text(parameters: dict, convention) -> str:
    """The methods' sentences on the input: its files, how they were stored and held.

    Generated from the run's record (``parameters['input_data']`` and
    ``['input_files']``, written by ``refglm.workflows``): e.g. "The input was
    96 3-D volumes (fM00223_004.img to fM00223_099.img), stored as int16 and
    stacked into one float32 array, as nilearn's concat_imgs stacks 3-D volumes
    (input_dtype 'native')." or, for one 4-D float32 image, "... one 4-D image
    (run.nii.gz), stored as float32 and held as it is stored". ``''`` when the
    run has no record.

    Parameters
    ----------
    parameters : dict
    convention : refglm.conventions.Convention

    Returns
    -------
    str
    """
    data = parameters.get("input_data")
    if not data:
        return ""
    names = [f["file"] for f in _files(parameters, "func") if f["file"]]
    names = [n for n in names if not n.lower().endswith(".hdr")]
    stored, held = data["stored_dtype"], data["held_dtype"]
    choice = f"<code>input_dtype='{convention.input_dtype}'</code>"
    if data["layout"] == "4-D image":
        what = "one 4-D image" + (f" (<code>{names[0]}</code>)" if names else " (in memory)")
        if held == stored:
            how = f"held as it is stored ({choice})"
        else:
            how = f"converted to {held} ({choice})"
    else:
        span = f" (<code>{names[0]}</code> to <code>{names[-1]}</code>)" if names else ""
        what = f"{data['n_volumes']} 3-D volumes{span}"
        if convention.input_dtype == "native":
            how = (
                f"stacked into one {held} array, as nilearn's <code>concat_imgs</code> "
                f"stacks 3-D volumes ({choice})"
            )
        else:
            how = f"stacked into one {held} array ({choice})"
    text = f"The input was {what}, stored as {stored} and {how}."
    events = _files(parameters, "events")
    if events and events[0]["file"]:
        text += f" Events were read from <code>{events[0]['file']}</code>."
    n_hashed = sum(1 for f in parameters.get("input_files") or () if f["sha256"])
    if n_hashed:
        text += (
            f" The sha256 of each of the {n_hashed} input files is listed under "
            "&ldquo;Inputs&rdquo;."
        )
    return text


def _min_distance(summaries) -> float:
    """The paring distance of the summaries' cluster tables (8 mm, nistats' default, if none)."""
    distances = [
        s.table_params["min_distance"]
        for s in summaries
        if s.table_params and "min_distance" in s.table_params
    ]
    return distances[0] if distances else 8.0


def _plain(value) -> str:
    """A parameter value as text: lists as ``[a, b]`` without quotes."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


#: Keys of the parameters that the report shows in tables of their own (the run's record).
RECORD_KEYS = ("input_files", "input_data", "versions")


def parameter_rows(parameters: dict) -> list[tuple[str, str]]:
    """(name, value) rows of the model parameters (the run's record left to its own tables)."""
    rows = []
    for key in sorted(parameters):
        if key in RECORD_KEYS:
            continue
        value = parameters[key]
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
        rows.append((key, str(value)))
    return rows


def convention_rows(convention) -> list[tuple[str, str]]:
    """(name, value) rows of the convention's choices: the internals a reader rarely needs."""
    return [(key, str(value)) for key, value in convention.as_dict().items() if key != "name"]
