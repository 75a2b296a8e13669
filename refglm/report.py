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
(:func:`golden_checks`), or, when refglm is installed without that file, a
sentence saying they were not run and why (:func:`golden_check_status`).
Nothing in it depends on the time of the run.
"""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path

import numpy as np

from refglm import io
from refglm.exceptions import InputError
from refglm.methods_text import _CHOICE_TEXT as _CHOICE_TEXT  # importable from here
from refglm.methods_text import _HRF_TEXT as _HRF_TEXT
from refglm.methods_text import _choice as _choice
from refglm.methods_text import engine_summary, methods_paragraph, parameter_rows
from refglm.outputs import cluster_rule_text

__all__ = [
    "methods_paragraph",
    "parameter_rows",
    "load_validation_module",
    "golden_checks",
    "golden_check_status",
    "GOLDEN_CHECKS_MISSING",
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


#: The report's sentence when the golden checks cannot run (no source tree).
GOLDEN_CHECKS_MISSING = (
    "The golden-value checks were not run: refglm is installed without its source tree, "
    "so validation/spm_auditory_tutorial.py (the golden values and their checks) is not "
    "there; install refglm from a clone with `pip install -e .` to include them."
)


def golden_check_status(results):
    """The golden checks of a ``TutorialResults``, or why they could not run.

    Returns
    -------
    checks : list of validation Check or None
        ``checks_for(results)`` of ``validation/spm_auditory_tutorial.py``;
        None when that file is not there (refglm installed without its
        source tree).
    missing : str or None
        None when the checks ran, else :data:`GOLDEN_CHECKS_MISSING`, which
        the report prints in place of the check table.
    """
    try:
        module = load_validation_module()
    except InputError:
        return None, GOLDEN_CHECKS_MISSING
    return module.checks_for(results), None


def golden_checks(results):
    """The golden checks of a ``TutorialResults`` (validation ``checks_for``).

    None when ``validation/`` is not there (refglm installed without its
    source tree); :func:`golden_check_status` also says why.
    """
    return golden_check_status(results)[0]


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


def _cluster_cell(m) -> str:
    """The report's cluster-filter cell of a thresholded map: what the filter kept."""
    rule = cluster_rule_text(m.cluster_threshold)
    return rule.replace("clusters of ", "") if rule else "all"


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
    checks_missing: str | None = None,
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
    cuts over the mean EPI). The cuts are chosen on the contrast's *last*
    map (for the tutorial's t contrast, the cluster-filtered FDR map it ends
    with) and shared by all maps of the contrast, so they can be compared
    slice by slice.

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
    checks_missing : str or None
        Why the golden checks were not run (see :func:`golden_check_status`);
        the report prints it in place of the check table.
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
        # cuts chosen on the contrast's last map (the tutorial's: FDR with the cluster filter,
        # not its most stringent, Bonferroni), shared by all maps of the contrast
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
                    clusters=_cluster_cell(m),
                    note=m.note,
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
                cuts_from=summary.maps[-1].title,
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
            engine=engine_summary(parameters.get("engine", "statsmodels")),
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
            checks_missing=checks_missing if checks is None else None,
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
