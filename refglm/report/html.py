"""Figures and the self-contained HTML report of a first-level analysis.

:func:`write_products` draws every figure (``refglm.plotting``) into
``figures/`` and writes ``report.html`` from the jinja2 template
``refglm/report/templates/report.html``, with the very same PNG bytes embedded as
base64 ``data:`` URIs, so the report is one file that opens anywhere.

The report holds: a methods paragraph generated from the model's parameters
and the convention's choices (:func:`refglm.report.methods.methods_paragraph`),
the parameter table, the design and contrast figures, the mask with its voxel
count, for each contrast its thresholded maps and cluster table, and, for the
tutorial, the golden-value checks it is given (``refglm.validation``).
Nothing in it depends on the time of the run.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from refglm import io
from refglm._version import __version__
from refglm.io import derivative_names as names
from refglm.report.methods import engine_summary, methods_paragraph, parameter_rows
from refglm.report.wording import cluster_rule_text

__all__ = ["render_report", "write_products"]


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
    return cluster_rule_text(m.cluster_threshold, "cell") or "all"


def render_report(context: dict, template: str = "report.html") -> str:
    """Render a template of ``refglm/report/templates/`` with ``context`` (jinja2, autoescaped).

    The one HTML path of refglm: the tutorial's and ``refglm fit``'s
    ``report.html`` and ``refglm compare``'s ``compare.html``.
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("refglm.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(template).render(**context)


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
    summaries : list of refglm.workflows._pipeline_hub.ContrastSummary
    parameters : dict
        The model parameters (``statmap.json``).
    title : str
    regressors : list of str or None
        Columns for the expected-response figure (None: the event regressors).
    checks : list of refglm.validation.Check or None
        Golden checks for the report's check table (the tutorial's).
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
    from refglm.glm.contrasts import as_contrast_matrix

    out = Path(out_dir)
    fig_dir = out / names.FIGURES_DIR
    fig_dir.mkdir(parents=True, exist_ok=True)
    design = model.design_matrices_[0]
    conv = model.convention_
    bg, affine = io.image_data(mean_img)
    mask = model.mask_
    pngs: dict[str, bytes] = {}

    def add(rel, png):
        pngs[rel] = png
        if progress is not None:
            progress(1)
        return rel

    design_fig = add(names.DESIGN_FIGURE, plotting.plot_design_matrix(design))
    response_fig = add(
        names.RESPONSE_FIGURE,
        plotting.plot_regressors(design, regressors, title=regressors_title),
    )
    mask_voxels = int(mask.sum())
    mask_fig = add(
        names.MASK_FIGURE,
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
            names.contrast_figure_name(summary.name),
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
            rel = add(names.thresholded_figure_name(summary.name, m.key), png)
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
            version=__version__,
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
            outputs=[(name, names.describe_output(name)) for name in outputs]
            + [(rel, "figure") for rel in (pngs if figures else ())],
            convention=conv.name,
            display_convention=plotting.DISPLAY_CONVENTION,
        )
        html = render_report(context)
        written.append(io.atomic_write_text(out / names.REPORT_HTML, html))
    return written
