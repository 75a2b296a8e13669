"""Figures and the self-contained HTML report of a first-level analysis.

:func:`write_products` draws every figure (``refglm.plotting``) into
``figures/`` and writes ``report.html`` from the jinja2 template
``refglm/templates/report.html``, with the very same PNG bytes embedded as
base64 ``data:`` URIs, so the report is one file that opens anywhere.

The report holds: a methods paragraph generated from the model's parameters
and the convention's choices (:func:`methods_paragraph`), the parameter
table, the design and contrast figures, the mask with its voxel count, for
each contrast its thresholded maps and cluster table, and, for the tutorial,
the golden-value checks of ``validation/spm_auditory_tutorial.py``
(:func:`golden_checks`). Nothing in it depends on the time of the run.
"""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path

import numpy as np

from refglm import io
from refglm.exceptions import InputError

__all__ = [
    "methods_paragraph",
    "parameter_rows",
    "load_validation_module",
    "golden_checks",
    "render_report",
    "write_products",
    "OUTPUT_DESCRIPTIONS",
]

#: What each kind of output file holds (used by the report and the README).
OUTPUT_DESCRIPTIONS = {
    "_stat-z_statmap.nii.gz": "z map of the contrast",
    "_stat-t_statmap.nii.gz": "t statistic",
    "_stat-F_statmap.nii.gz": "F statistic",
    "_stat-p_statmap.nii.gz": "one-sided p-value",
    "_stat-effect_statmap.nii.gz": "contrast effect (percent signal change)",
    "_stat-variance_statmap.nii.gz": "variance of the contrast effect",
    "_clusters.tsv": "cluster table (peaks and subpeaks, mm)",
    "_clusters.json": "parameters of the cluster table",
    "thresholds.json": "the tutorial's five thresholds",
    "design.tsv": "design matrix (one row per scan)",
    "design.json": "design columns and frame times",
    "mask.nii.gz": "brain mask (EPI mask of the mean image)",
    "statmap.json": "model parameters and convention choices",
    "dataset_description.json": "BIDS derivative description (GeneratedBy)",
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


def load_validation_module():
    """Load ``validation/spm_auditory_tutorial.py`` from refglm's source tree.

    The golden checks live beside the golden values, outside the package;
    ``refglm validate`` and the tutorial report both use them through this
    loader. Raises InputError when refglm is not installed from a source
    tree (``pip install -e .``).
    """
    path = Path(__file__).resolve().parents[1] / "validation" / "spm_auditory_tutorial.py"
    if not path.is_file():
        raise InputError(
            f"{path}: validation script not found; `refglm validate` needs refglm's source "
            "tree (install with `pip install -e .` from a clone)."
        )
    name = "refglm_validation_spm_auditory"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # registered before running it: dataclasses look their module up in sys.modules
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def golden_checks(results):
    """The golden checks of a ``TutorialResults`` (validation ``checks_for``).

    None when ``validation/`` is not there (refglm installed without its
    source tree); the report then has no check table.
    """
    try:
        module = load_validation_module()
    except InputError:
        return None
    return module.checks_for(results)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _fmt_cell(column, value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if column == "Peak Stat":
        return f"{float(value):.6f}"
    if column in ("X", "Y", "Z"):
        return f"{float(value):g}"
    return str(value)


def _fmt_check(value) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.9f}"
    if isinstance(value, list):
        text = ", ".join(map(str, value))
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def _check_rows(checks):
    rows = []
    for c in checks:
        delta = "" if c.delta is None else f"{c.delta:.1e}"
        tol = c.tolerance if isinstance(c.tolerance, str) else f"{c.tolerance:.0e}"
        rows.append(
            dict(
                quantity=c.quantity,
                value=_fmt_check(c.value),
                golden=_fmt_check(c.golden),
                delta=delta,
                tolerance=tol,
                ok=bool(c.ok),
            )
        )
    return rows


def _describe_output(name: str) -> str:
    for suffix, text in OUTPUT_DESCRIPTIONS.items():
        if name.endswith(suffix):
            return text
    return ""


def render_report(context: dict) -> str:
    """Render ``templates/report.html`` with ``context`` (jinja2, autoescaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("refglm", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html").render(**context)


def write_products(
    out_dir,
    *,
    model,
    mean_img,
    summaries,
    parameters: dict,
    title: str,
    regressors=None,
    regressors_title: str = "Expected responses",
    checks=None,
    figures: bool = True,
    report: bool = True,
    outputs=(),
    progress=None,
) -> list[Path]:
    """Draw every figure into ``out_dir/figures/`` and write ``out_dir/report.html``.

    Figures: ``design_matrix.png``, ``expected_response.png`` (the
    ``regressors`` columns), ``mask.png``, and for each contrast
    ``contrast-<name>_design.png`` (its weights) and
    ``contrast-<name>_thresh-<key>.png`` (each thresholded map, three axial
    cuts over the mean EPI, the same cuts for all maps of a contrast).

    Parameters
    ----------
    out_dir : path
    model : refglm.FirstLevelModel
        Fitted.
    mean_img : nibabel image
        Background of the maps (the run's mean).
    summaries : list of refglm.pipeline.ContrastSummary
    parameters : dict
        The model parameters (``statmap.json``).
    title : str
    regressors : list of str or None
        Columns for the expected-response figure (None: the event regressors).
    checks : list of validation Check or None
        Golden checks for the report's check table.
    figures, report : bool
        Write the PNG files, the HTML report.
    outputs : sequence of str
        Names of the derivative files written beside (listed in the report).
    progress : callable or None
        Called with 1 after each figure.

    Returns
    -------
    list of Path
    """
    from refglm import plotting
    from refglm.contrasts import as_contrast_matrix

    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    design = model.design_matrices_[0]
    conv = model.convention_
    bg, affine = io.image_data(mean_img)
    mask = model.mask_
    pngs: dict[str, bytes] = {}

    def add(name, png):
        pngs[f"figures/{name}"] = png
        if progress is not None:
            progress(1)
        return f"figures/{name}"

    design_fig = add("design_matrix.png", plotting.plot_design_matrix(design))
    response_fig = add(
        "expected_response.png",
        plotting.plot_regressors(design, regressors, title=regressors_title),
    )
    mask_voxels = int(mask.sum())
    mask_fig = add(
        "mask.png",
        plotting.plot_mask(mask, bg, affine, title=f"Brain mask: {mask_voxels} voxels"),
    )
    contrasts = []
    for summary in summaries:
        C = as_contrast_matrix(summary.definition, design.columns)
        label = (
            summary.definition
            if isinstance(summary.definition, str)
            else "F test of " + ", ".join(map(str, summary.definition))
            if isinstance(summary.definition, list | tuple)
            and all(isinstance(r, str) for r in summary.definition)
            else summary.name
        )
        matrix_fig = add(
            f"contrast-{summary.name}_design.png",
            plotting.plot_contrast_matrix(C, design.columns, title=f"{summary.name}: {label}"),
        )
        datas = [io.image_data(m.img)[0] for m in summary.maps]
        # cuts from the most stringent map (the last), shared by all maps of the contrast
        cuts = plotting.choose_axial_cuts(datas[-1], affine, 3, mask=mask)
        vmax = max(float(np.abs(d).max()) for d in datas)
        maps = []
        for m, data in zip(summary.maps, datas, strict=True):
            png = plotting.plot_stat_map(
                data,
                bg,
                affine,
                m.threshold,
                title=m.title,
                cut_coords=cuts,
                vmax=vmax if vmax > m.threshold else None,
                label="z",
            )
            rel = add(f"contrast-{summary.name}_thresh-{m.key}.png", png)
            maps.append(
                dict(
                    title=m.title,
                    threshold=f"{m.threshold:.3f}",
                    n_voxels=int((data > m.threshold).sum() + (data < -m.threshold).sum()),
                    file=rel,
                    src=_data_uri(png),
                )
            )
        table = None
        if summary.table is not None:
            columns = [str(c) for c in summary.table.columns]
            table = dict(
                columns=columns,
                rows=[
                    [_fmt_cell(c, v) for c, v in zip(columns, row, strict=True)]
                    for row in summary.table.itertuples(index=False)
                ],
                params=summary.table_params,
            )
        contrasts.append(
            dict(
                name=summary.name,
                label=label,
                stat_type=summary.stat_type,
                matrix=dict(file=matrix_fig, src=_data_uri(pngs[matrix_fig])),
                maps=maps,
                table=table,
                cuts=", ".join(f"{z:g}" for z in cuts),
            )
        )

    written = []
    if figures:
        for rel, png in pngs.items():
            written.append(io.atomic_write_bytes(out / rel, png))
    if report:
        n_ok = sum(bool(c.ok) for c in checks) if checks else 0
        context = dict(
            title=title,
            version=_version(),
            methods=methods_paragraph(parameters, conv, design, mask_voxels, summaries),
            parameters=parameter_rows(parameters, conv),
            design=dict(file=design_fig, src=_data_uri(pngs[design_fig])),
            response=dict(file=response_fig, src=_data_uri(pngs[response_fig])),
            response_title=regressors_title,
            mask=dict(file=mask_fig, src=_data_uri(pngs[mask_fig]), voxels=mask_voxels),
            columns=[str(c) for c in design.columns],
            n_scans=int(design.shape[0]),
            contrasts=contrasts,
            checks=_check_rows(checks) if checks is not None else None,
            checks_summary=(f"{n_ok} of {len(checks)} checks pass" if checks is not None else None),
            outputs=[(name, _describe_output(name)) for name in outputs]
            + [(rel, "figure") for rel in (pngs if figures else ())],
            convention=conv.name,
            display_convention=plotting.DISPLAY_CONVENTION,
        )
        html = render_report(context)
        written.append(io.atomic_write_text(out / "report.html", html))
    return written


def _version() -> str:
    from refglm import __version__

    return __version__
