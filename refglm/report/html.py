"""Figures and the self-contained HTML report of a first-level analysis.

:func:`write_products` draws every figure (``refglm.plotting``) into
``figures/`` and writes ``report.html`` from the jinja2 template
``refglm/report/templates/report.html``, with the very same PNG bytes embedded as
base64 ``data:`` URIs, so the report is one file that opens anywhere.

The report leads with its results: a summary (what was fitted, the verdict of
the golden checks in one line, the thresholds of every map), then each
contrast's maps and cluster table; then the design (matrix, correlations of
the regressors, expected responses) and the mask; the golden checks (verdict,
largest deltas, every row in a collapsed section); the methods paragraph
generated from what the run did (:mod:`refglm.report.methods`), its input
files with their hashes and the library versions; the model parameters (the
convention's internals collapsed); and the files, linked and described.
Nothing in it depends on the time of the run.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np

from refglm import io
from refglm._version import __version__
from refglm.io import derivative_names as names
from refglm.report.methods import (
    convention_rows,
    engine_summary,
    methods_paragraph,
    parameter_rows,
    summary_text,
)
from refglm.report.wording import SUBPEAK_SIZE_NOTE, cluster_rule_text

__all__ = ["render_report", "write_products", "CORRELATION_FIGURE"]

#: The design's correlation figure, beside the design matrix's.
CORRELATION_FIGURE = f"{names.FIGURES_DIR}/design_correlation.png"


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


def _check_row(c) -> dict:
    """A golden check (``refglm.validation.Check``) as the report's table row."""
    return dict(
        quantity=c.quantity,
        value=c.value_text,
        golden=c.golden_text,
        delta=c.delta_text,
        tolerance=c.tolerance_text,
        ok=bool(c.ok),
    )


def _checks_context(checks, n_largest: int = 5):
    """The report's golden-check section: verdict, largest deltas, every row."""
    if checks is None:
        return None
    n_ok = sum(bool(c.ok) for c in checks)
    numeric = [c for c in checks if c.delta is not None and c.tolerance != "exact"]
    largest = sorted(numeric, key=lambda c: -abs(c.delta) / c.tolerance)[:n_largest]
    verdict = f"{n_ok} of {len(checks)} checks pass"
    if largest:
        c = largest[0]
        verdict += (
            f"; largest |delta| {abs(c.delta):.1e} ({c.quantity}, tolerance {c.tolerance_text})"
        )
    return dict(
        ok=n_ok == len(checks),
        n=len(checks),
        n_ok=n_ok,
        summary=f"{n_ok} of {len(checks)} checks pass",
        verdict=verdict,
        failed=[_check_row(c) for c in checks if not c.ok],
        largest=[_check_row(c) for c in largest],
        rows=[_check_row(c) for c in checks],
    )


def _cluster_cell(m) -> str:
    """The report's cluster-filter cell of a thresholded map: what the filter kept."""
    return cluster_rule_text(m.cluster_threshold, "cell") or "all"


#: A number as a reader sees one: a voxel's indices (``51, 29, 36``), or one value with
#: its sign, decimals and exponent (``-5.04e-14``, ``1e-06``, ``0.0836``).
_NUMBER = re.compile(r"\d+(?:, \d+){2}|[-+\u2212]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


#: Where a long name may wrap: after these (``nilearn+ar_binning=round``,
#: ``contrast-activeMinusRest_stat-z``), never inside a number.
_NAME_BREAKS = "+=_,/"


def _breakable(text: str, breaks: bool = True):
    """``text`` escaped, with a line-break opportunity (``<wbr>``) after :data:`_NAME_BREAKS`."""
    from markupsafe import Markup, escape

    if not breaks:
        return escape(text)
    out = Markup("")
    for char in text:
        out += escape(char)
        if char in _NAME_BREAKS:
            out += Markup("<wbr>")
    return out


def _numbers_nowrap(text, breaks: bool = True):
    """``text`` escaped, each number in ``<span class="nw">`` (the template's filter).

    A table cell or a sentence may wrap between words, or inside a long name after
    ``+ = _ , /`` (``breaks``; Chromium breaks at ``<wbr>`` even under ``nowrap``, so a
    cell that must not wrap passes False), never inside a number: the stylesheet of
    ``compare.html`` gives ``.nw`` ``white-space: nowrap``.
    """
    from markupsafe import Markup, escape

    text = str(text)
    out, last = [], 0
    for match in _NUMBER.finditer(text):
        out += [_breakable(text[last : match.start()], breaks), Markup('<span class="nw">')]
        out += [escape(match.group()), Markup("</span>")]
        last = match.end()
    out.append(_breakable(text[last:], breaks))
    return Markup("").join(out)


def render_report(context: dict, template: str = "report.html") -> str:
    """Render a template of ``refglm/report/templates/`` with ``context`` (jinja2, autoescaped).

    The one HTML path of refglm: the tutorial's and ``refglm fit``'s
    ``report.html`` and ``refglm compare``'s ``compare.html``, which share their
    stylesheet (``_style.html``). The filter ``numbers_nowrap`` keeps each number of a
    text on one line (:func:`_numbers_nowrap`).
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("refglm.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["numbers_nowrap"] = _numbers_nowrap
    return env.get_template(template).render(**context)


#: What the report says of the files it writes itself.
_OWN_FILES = {names.REPORT_HTML: "this report (every figure embedded)"}


def _contrast_label(definition, name) -> str:
    """A contrast's definition in words: the expression, or ``'F test of a, b'``."""
    if isinstance(definition, str):
        return definition
    if isinstance(definition, list | tuple) and all(isinstance(r, str) for r in definition):
        return "F test of " + ", ".join(definition)
    return name


def _map_parameters(m) -> str:
    """The parameters written on a map's figure, besides what is drawn: the cluster filter."""
    rule = cluster_rule_text(m.cluster_threshold)
    return f"{rule} kept" if rule else "no cluster filter"


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

    Figures: ``design_matrix.png``, ``design_correlation.png`` (the
    regressors' correlations), ``expected_response.png`` (the ``regressors``
    columns), ``mask.png``, and for each contrast ``contrast-<name>_design.png``
    (its weights) and ``contrast-<name>_thresh-<key>.png`` (each map, three
    axial cuts over the mean EPI, its parameters on the figure). The cuts are
    chosen on the contrast's *last* map (for the tutorial's t contrast, the
    cluster-filtered FDR map it ends with) and shared by all maps of the
    contrast, so they can be compared slice by slice.

    Parameters
    ----------
    out_dir : path
    model : refglm.FirstLevelModel
        Fitted.
    mean_img : nibabel image
        Background of the maps (the run's mean).
    summaries : list of refglm.first_level.ContrastSummary
    parameters : dict
        The model parameters and the run's record (``statmap.json``).
    title : str
    regressors : list of str or None
        Columns for the expected-response figure (None: the event regressors).
    checks : list of refglm.validation.Check or None
        Golden checks for the report's check section (the tutorial's).
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

    out = Path(out_dir)
    fig_dir = out / names.FIGURES_DIR
    fig_dir.mkdir(parents=True, exist_ok=True)
    design = model.design_matrices_[0]
    conv = model.convention_
    bg, affine = io.image_data(mean_img)
    mask = model.mask_
    mask_voxels = int(mask.sum())
    pngs: dict[str, bytes] = {}
    about: dict[str, str] = {}

    def add(rel, fig, description):
        pngs[rel] = plotting.figure_png(fig)
        about[rel] = description
        if progress is not None:
            progress(1)
        return dict(file=rel, src=_data_uri(pngs[rel]))

    design_fig = add(
        names.DESIGN_FIGURE,
        plotting.plot_design_matrix(design),
        "Figure: the design matrix (scans by regressors), each column scaled to its "
        "largest absolute value.",
    )
    correlation_fig = add(
        CORRELATION_FIGURE,
        plotting.plot_design_matrix_correlation(design),
        "Figure: correlations between the design's regressors (drifts and constant left out).",
    )
    response_fig = add(
        names.RESPONSE_FIGURE,
        plotting.plot_regressors(design, regressors, title=regressors_title),
        f"Figure: {regressors_title.lower()}, the HRF-convolved event regressors over time.",
    )
    mask_fig = add(
        names.MASK_FIGURE,
        plotting.mask_figure(mask, bg, affine, title=f"Brain mask: {mask_voxels} voxels"),
        f"Figure: the brain mask ({mask_voxels} voxels) over the mean image, three axial cuts.",
    )
    contrasts = []
    summary_maps = []
    for summary in summaries:
        label = _contrast_label(summary.definition, summary.name)
        matrix_fig = add(
            names.contrast_figure_name(summary.name),
            plotting.plot_contrast_matrix(
                summary.definition, design, title=f"{summary.name}: {label}"
            ),
            f"Figure: the weights of contrast {summary.name} over the design's columns.",
        )
        datas = [io.image_data(m.img)[0] for m in summary.maps]
        # cuts chosen on the contrast's last map (the tutorial's: FDR with the cluster filter,
        # not its most stringent, Bonferroni), shared by all maps of the contrast
        last = np.where(np.abs(datas[-1]) > summary.maps[-1].threshold, datas[-1], 0.0)
        cuts = plotting.choose_axial_cuts(last, affine, 3, mask=mask)
        rule = plotting.CUT_RULE.format(
            label="z", gap=plotting.MIN_GAP_MM, pct=100 * plotting.MIN_BRAIN_FRACTION
        )
        cut_note = f"cuts: the same for every map of {summary.name}, chosen on its last map: {rule}"
        peaks = [float(np.abs(np.where(np.abs(d) > m.threshold, d, 0)).max()) for d, m in
                 zip(datas, summary.maps, strict=True)]  # fmt: skip
        vmax = max(peaks)
        maps = []
        for m, data in zip(summary.maps, datas, strict=True):
            n_voxels = int((np.abs(data) > m.threshold).sum())
            two_signs = bool((data < -m.threshold).any())
            fig = plotting.stat_map_figure(
                data,
                bg,
                affine,
                m.threshold,
                title=m.title,
                cut_coords=cuts,
                vmax=vmax if vmax > m.threshold else None,
                label="z",
                parameters=_map_parameters(m),
                cut_note=cut_note,
                mask=mask,
            )
            rel = names.thresholded_figure_name(summary.name, m.key)
            entry = add(
                rel,
                fig,
                f"Figure: {m.title}; z over the mean image in three axial cuts.",
            )
            anchor = rel.rsplit("/", 1)[-1].removesuffix(".png")
            maps.append(
                dict(
                    entry,
                    title=m.title,
                    threshold=f"{m.threshold:.3f}",
                    clusters=_cluster_cell(m),
                    note=m.note,
                    n_voxels=n_voxels,
                    signs="both" if two_signs else "positive",
                    anchor=anchor,
                )
            )
            summary_maps.append(dict(maps[-1], contrast=summary.name))
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
                matrix=matrix_fig,
                maps=maps,
                table=table,
                cuts=", ".join(f"{z:g}" for z in cuts),
                cuts_from=summary.maps[-1].title,
                cut_rule=rule,
            )
        )

    written = []
    if figures:
        for rel, png in pngs.items():
            written.append(io.atomic_write_bytes(out / rel, png))
    if report:
        outputs = list(outputs) + [names.REPORT_HTML]
        files = [
            (name, names.describe_output(name) or _OWN_FILES.get(name, ""), name)
            for name in outputs
        ]
        if figures:
            files += [(rel, about[rel], rel) for rel in pngs]
        context = dict(
            title=title,
            version=__version__,
            engine=engine_summary(parameters.get("engine", "statsmodels")),
            summary=summary_text(parameters, design, mask_voxels, summaries),
            summary_maps=summary_maps,
            methods=methods_paragraph(parameters, conv, design, mask_voxels, summaries),
            parameters=parameter_rows(parameters),
            convention_rows=convention_rows(conv),
            inputs=parameters.get("input_files") or [],
            versions=sorted((parameters.get("versions") or {}).items()),
            design=design_fig,
            correlation=correlation_fig,
            response=response_fig,
            response_title=regressors_title,
            mask=dict(mask_fig, voxels=mask_voxels),
            columns=[str(c) for c in design.columns],
            n_scans=int(design.shape[0]),
            contrasts=contrasts,
            checks=_checks_context(checks),
            subpeak_note=SUBPEAK_SIZE_NOTE,
            files=files,
            figures_written=figures,
            convention=conv.name,
            display_convention=plotting.DISPLAY_CONVENTION,
        )
        html = render_report(context)
        written.append(io.atomic_write_text(out / names.REPORT_HTML, html))
    return written
