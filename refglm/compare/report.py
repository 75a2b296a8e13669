"""What ``refglm compare`` found, and its reports ``compare.md``, ``.json`` and ``.html``.

:class:`PairReport` holds one pair of maps' agreement, :class:`CompareReport`
every pair's and the verdict; :func:`write_report` draws the figures
(:mod:`refglm.plotting.compare`) and writes the three files. The Markdown and the
HTML show the same tables (:func:`report_tables`): ``compare.html`` is rendered from
the template ``compare.html`` of ``refglm.report`` (the tutorial report's stylesheet),
through ``refglm.report.render_report``, the one HTML path.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refglm import io
from refglm._version import __version__
from refglm.compare.accounting import CAUSE_NAMES, EXCUSED, counts_line
from refglm.compare.agreement import finite_or_zero, support
from refglm.compare.causes import CAUSES
from refglm.compare.maps import StatMap
from refglm.plotting.compare import bland_altman_png, delta_slices_png
from refglm.report import render_report

__all__ = [
    "PairReport",
    "CompareReport",
    "report_markdown",
    "report_html",
    "report_context",
    "write_report",
]


@dataclass
class PairReport:
    """The comparison of one pair of maps."""

    name: str
    kind: str | None
    reference_source: str
    candidate_source: str
    stats: dict
    thresholds: list | None = None
    peaks: dict | None = None
    figures: dict = field(default_factory=dict)
    reference_map: StatMap | None = field(default=None, repr=False)
    candidate_map: StatMap | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "reference": self.reference_source,
            "candidate": self.candidate_source,
            "stats": self.stats,
            "thresholds": self.thresholds,
            "peaks": self.peaks,
        }


@dataclass
class CompareReport:
    """Everything ``refglm compare`` found.

    The verdict is within tolerance when every map of the reference has a
    partner in the candidate and every pair is within its tolerance (the
    statistics absolute, effects and variances relative:
    ``refglm.compare.agreement.tolerance_for``).
    A reference map missing from the candidate fails the verdict; candidate maps
    the reference lacks are listed as not compared.

    With ``--explain`` every voxel beyond tolerance has a cause
    (``explain['voxels']``, :mod:`refglm.compare.accounting`); with ``allow_ties``
    (``--allow-ties``, the default) a pair whose masks agree and whose voxels beyond
    tolerance are all AR-bin ties or quantized tails is within tolerance. The counts
    are reported either way.
    """

    reference: str
    candidate: str
    tolerance: float
    convention: str
    pairs: list
    only_reference: list
    only_candidate: list
    explain: dict | None = None
    relative_tolerance: float | None = None
    allow_ties: bool = True
    #: the mean EPI behind the slices of Δ (the reference fit's), or None
    background: np.ndarray | None = field(default=None, repr=False)

    @property
    def causes(self) -> dict | None:
        """The cause of each voxel beyond tolerance (``--explain``), or None."""
        return (self.explain or {}).get("voxels")

    def _causes_of(self, pair) -> dict | None:
        causes = self.causes
        return None if causes is None else causes["maps"].get(pair.name)

    def _excused(self, pair) -> int:
        """The pair's ties and tails when ``allow_ties``, else 0."""
        entry = self._causes_of(pair)
        if entry is None or not self.allow_ties:
            return 0
        return sum(entry["counts"][cause] for cause in EXCUSED)

    def _pair_within(self, pair) -> bool:
        s = pair.stats
        if s["within_tolerance"]:
            return True
        entry = self._causes_of(pair)
        if entry is None or not self.allow_ties:
            return False
        masks_equal = s["only_reference"] == 0 and s["only_candidate"] == 0
        return masks_equal and entry["n_beyond"] == self._excused(pair)

    @property
    def within_tolerance(self) -> bool:
        return (
            bool(self.pairs)
            and not self.only_reference
            and all(self._pair_within(p) for p in self.pairs)
        )

    @property
    def causes_line(self) -> str:
        """The count of each cause, and whether the verdict counted the ties and tails."""
        causes = self.causes
        if causes is None:
            return ""
        flag = (
            "--allow-ties: the verdict does not count the ties and tails"
            if self.allow_ties
            else "--no-allow-ties: the verdict counts the ties and tails"
        )
        n = len(causes["maps"])
        return (
            f"voxels beyond tolerance by cause (summed over the {n} map pairs): "
            f"{counts_line(causes['counts'])} ({flag})."
        )

    @staticmethod
    def _excess(pair) -> float:
        s = pair.stats
        threshold = s.get("threshold", s.get("tolerance", 0.0))
        if threshold > 0:
            return s["max_abs"] / threshold
        return math.inf if s["max_abs"] > 0 else 0.0

    def _describe_pair(self, pair) -> str:
        s = pair.stats
        text = f"max|Δ| {s['max_abs']:.3g} in {pair.name}"
        if s.get("relative"):
            rel = s.get("max_rel")
            text += (
                f" ({'–' if rel is None else f'{rel:.3g}'} of the reference's max|value|; "
                f"relative tolerance {s['tolerance']:g}"
            )
        else:
            text += f" (tolerance {s.get('tolerance', self.tolerance):g}"
        return text

    @property
    def verdict(self) -> str:
        failing = [p for p in self.pairs if not self._pair_within(p)]
        worst = max(failing or self.pairs, key=self._excess)
        mask_a = sum(p.stats["only_reference"] for p in self.pairs)
        mask_b = sum(p.stats["only_candidate"] for p in self.pairs)
        n = len(self.pairs)
        masks = (
            "masks identical"
            if mask_a == mask_b == 0
            else f"{mask_a} voxels only in the reference, {mask_b} only in the candidate"
        )
        not_compared = (
            f" Not compared (no reference map): {', '.join(self.only_candidate)}."
            if self.only_candidate
            else ""
        )
        excused = {cause: 0 for cause in EXCUSED}
        for pair in self.pairs:
            entry = self._causes_of(pair)
            if entry is not None and self.allow_ties:
                for cause in EXCUSED:
                    excused[cause] += entry["counts"][cause]
        if self.within_tolerance:
            if sum(excused.values()) == 0:
                return (
                    f"WITHIN TOLERANCE: candidate matches the reference in {n} map pair(s): "
                    f"{self._describe_pair(worst)}); {masks}.{not_compared}"
                )
            rest = max(
                (self._causes_of(p) or {}).get("max_abs_without_excused", p.stats["max_abs"])
                for p in self.pairs
            )
            return (
                f"WITHIN TOLERANCE after ties and tails (--allow-ties): candidate matches the "
                f"reference in {n} map pair(s) but for {excused['tail']} quantized tail(s) and "
                f"{excused['tie']} AR-bin tie(s), which are not convention choices "
                f"({self._describe_pair(worst)}); max|Δ| {rest:.3g} over the other voxels); "
                f"{masks}.{not_compared}"
            )
        problems = []
        if failing:
            beyond = worst.stats["n_beyond_tolerance"] - self._excused(worst)
            what = (
                "voxels beyond it"
                if not self._excused(worst)
                else ("voxels beyond it that are not ties or tails")
            )
            if n > 1:
                total = sum(p.stats["n_beyond_tolerance"] - self._excused(p) for p in self.pairs)
                what += f", {total} over the {n} map pairs"
            problems.append(f"{self._describe_pair(worst)}; {beyond} {what}); {masks}")
        if self.only_reference:
            problems.append(
                f"{len(self.only_reference)} of the reference's "
                f"{len(self.only_reference) + n} maps missing from the candidate "
                f"({', '.join(self.only_reference)})"
            )
            if len(problems) == 1:
                problems.append(f"the {n} paired map(s) within tolerance; {masks}")
        return f"BEYOND TOLERANCE: {'; '.join(problems)}.{not_compared}"

    def as_dict(self) -> dict:
        return {
            "reference": self.reference,
            "candidate": self.candidate,
            "tolerance": self.tolerance,
            "relative_tolerance": self.relative_tolerance,
            "convention": self.convention,
            "within_tolerance": self.within_tolerance,
            "verdict": self.verdict,
            "pairs": [p.as_dict() for p in self.pairs],
            "only_reference": self.only_reference,
            "only_candidate": self.only_candidate,
            "explain": self.explain,
            "allow_ties": self.allow_ties,
            "causes": None
            if self.causes is None
            else {
                "counts": self.causes["counts"],
                "unexplained": self.causes["unexplained"],
                "allow_ties": self.allow_ties,
                "line": self.causes_line,
            },
        }


def _fmt(value, digits: int = 3) -> str:
    """A value as both reports print it: 3 significant digits, lists as ``a, b, c``."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v, digits) for v in value) or "–"
    return str(value)


def _is_number(value) -> bool:
    """A cell the HTML aligns right and never wraps: a number (not a bool, not text)."""
    if isinstance(value, np.generic):
        value = value.item()
    return isinstance(value, int | float) and not isinstance(value, bool)


def _md_table(header, rows) -> list[str]:
    header = [h.replace("|", "\\|") for h in header]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _pair_tables(pair: PairReport):
    s = pair.stats
    tables = [
        (
            "Agreement (on the union of both maps' supports)",
            ["quantity", "value"],
            [
                ["voxels compared (union of the supports)", s["n_reference"] + s["only_candidate"]],
                ["voxels in reference", s["n_reference"]],
                ["voxels in candidate", s["n_candidate"]],
                ["voxels only in reference", s["only_reference"]],
                ["voxels only in candidate", s["only_candidate"]],
                ["max |Δ|", s["max_abs"]],
                ["mean |Δ|", s["mean_abs"]],
                ["99th percentile |Δ|", s["p99_abs"]],
                ["correlation", s["correlation"]],
                ["max |Δ| / max |reference|", s.get("max_rel")],
                [
                    "tolerance",
                    f"{s['tolerance']:g} × max |reference| = {s['threshold']:.3g}"
                    if s.get("relative")
                    else s.get("tolerance"),
                ],
                ["voxels with |Δ| > tolerance", s["n_beyond_tolerance"]],
                ["voxel of max |Δ| (i, j, k)", s["argmax_ijk"]],
            ],
        )
    ]
    if pair.thresholds:
        tables.append(
            (
                "Thresholds and Dice of suprathreshold sets",
                ["control", "alpha", "thr ref", "thr cand", "n ref", "n cand", "n both", "Dice"],
                [
                    [
                        r["height_control"],
                        r["alpha"],
                        r["threshold_reference"],
                        r["threshold_candidate"],
                        r["n_reference"],
                        r["n_candidate"],
                        r["n_both"],
                        r["dice"],
                    ]
                    for r in pair.thresholds
                ],
            )
        )
    if pair.peaks:
        p = pair.peaks
        tables.append(
            (
                f"Peaks above z > {p['threshold']:.3f} (clusters ≥ {p['cluster_threshold_voxels']} "
                f"voxels): {p['n_clusters_reference']} clusters / {p['n_peaks_reference']} peaks "
                f"in the reference, {p['n_clusters_candidate']} / {p['n_peaks_candidate']} in "
                "the candidate",
                ["ref id", "ref x, y, z (mm)", "ref peak", "cand id", "distance (mm)", "Δ peak"],
                [
                    [
                        m["id"],
                        ", ".join(f"{v:g}" for v in m["xyz"]),
                        m["peak"],
                        m["candidate_id"],
                        m["distance_mm"],
                        m["delta"],
                    ]
                    for m in p["matches"]
                ],
            )
        )
    return tables


def _explain_lines(ex: dict, top: int = 12) -> tuple[str, list, list]:
    """The ranking of --explain: a note saying where each number is computed, the table.

    Without a box every score is on every voxel of the mask. With one, each row's scores
    are on the box (the variants are ranked there) and the leading rows, refitted on
    every voxel, have their whole-mask scores beside: the verdict is made of those.
    """
    relative = ex.get("relative")
    what = "max |Δ| / max |candidate|" if relative else "max |Δ|"
    regions = ex.get("regions") or {}
    mask = regions.get("mask") or {}
    n_maps = mask.get("maps", len(ex.get("scored_maps", [])))
    box = ex.get("box")
    note = (
        f"engine {ex['engine']}; {ex.get('n_variants', len(ex['ranking']))} variants (every "
        "named convention and every single-choice flip of each); scored on "
        f"{', '.join(ex.get('scored_maps', []))} with tolerance {ex.get('tolerance', 0):g}"
        + (
            f", the voxels beyond tolerance summed over those {n_maps} maps; "
            if n_maps > 1
            else "; "
        )
    )
    if box:
        leaders = ex.get("leaders") or [r["name"] for r in ex["ranking"] if "mask" in r]
        note += (
            f"ranked on the box, a cube of {box['voxels']} voxels around the largest difference "
            f"({box.get('support_voxels', box['voxels'])} of them in the candidate's maps); the "
            f"{len(leaders)} leading variants, and the reference convention, refitted on every "
            f"voxel of the mask ({mask.get('voxels', '–')} voxels): the verdict is made of these"
        )
        header = [
            "variant",
            "--convention",
            f"{what}, box",
            "voxels beyond, box",
            "mean |Δ|, box",
            f"{what}, mask",
            "voxels beyond, mask",
            "same maps",
        ]
    else:
        note += f"ranked on every voxel of the mask ({mask.get('voxels', '–')} voxels)"
        header = [
            "variant",
            "--convention",
            what,
            "voxels beyond tolerance",
            "mean |Δ|",
            "same maps",
        ]
    note += "; variants with bitwise identical maps share a row"
    shown = ex["ranking"][:top]
    reference = (ex.get("baseline") or {}).get("name")
    if reference is not None and all(r["name"] != reference for r in shown):
        # the reference convention's own row, whatever its rank: the baseline
        shown += [r for r in ex["ranking"] if r["name"] == reference]
        note += f"; the last row is the reference convention's, ranked below the first {top}"
    rows = []
    for r in shown:
        row = [r["label"], r["name"], r["max_abs"], r["n_beyond_tolerance"], r["mean_abs"]]
        if box:
            whole = r.get("mask") or {}
            row += [whole.get("max_abs"), whole.get("n_beyond_tolerance")]
        rows.append(row + [", ".join(r["same_maps"]) or "–"])
    return note, header, rows


def _causes_tables(report: CompareReport):
    """The causes of the voxels beyond tolerance: a note, then (title, header, rows) tables."""
    causes = report.causes
    rules = causes["rules"]
    note = (
        f"{report.causes_line} Rules (refglm.compare.causes): an AR-bin tie has its raw rho "
        f"within {rules['tie_rho_atol']:g} of a bin edge and the candidate's value is the "
        "reference's recomputed with the neighbouring bin; a quantized tail has both p "
        f"above 1/2 and at most {rules['tail_max_dp_spacings']} float64 spacing(s) (2^-53) "
        "apart, the step in z being what that gives. z = norm.isf(p) is quantized coarser "
        f"than the tolerance {rules['tolerance']:g} below z = "
        f"{rules['quantization_onset_z']:.4f} (1 - p = "
        f"{rules['quantization_onset_spacings']:.0f} spacings)."
        + (
            f" Convention choice: within tolerance of {causes['convention']}."
            if causes.get("convention") and causes["counts"]["convention"]
            else ""
        )
    )
    header = ["map", "beyond tolerance"] + [CAUSE_NAMES[c] for c in CAUSES]
    header.append("max |Δ| without ties and tails")
    rows = [
        [name, entry["n_beyond"]]
        + [entry["counts"][c] for c in CAUSES]
        + [entry["max_abs_without_excused"]]
        for name, entry in causes["maps"].items()
    ]
    tables = [("Counts", header, rows)]
    listed = [(name, row) for name, entry in causes["maps"].items() for row in entry["voxels"]]
    ties = [
        [
            name,
            ", ".join(map(str, r["ijk"])),
            f"{r['rho_raw']:.12g}",
            f"{r['bins'][0]:g} / {r['bins'][1]:g}",
            f"{r['values'][0]:.6f}",
            f"{r['values'][1]:.6f}",
            f"{r['candidate']:.6f}",
        ]
        for name, r in listed
        if r["cause"] == "tie"
    ]
    if ties:
        tables.append(
            (
                "AR-bin ties: the two bins and the value each gives",
                [
                    "map",
                    "voxel (i, j, k)",
                    "raw rho",
                    "bins: reference / other",
                    "reference (its bin)",
                    "other bin",
                    "candidate",
                ],
                ties,
            )
        )
    tails = [
        [
            name,
            ", ".join(map(str, r["ijk"])),
            f"{r['reference']:.6f}",
            f"{r['candidate']:.6f}",
            r["abs_delta"],
            f"{r['p_spacings_from_one'][0]:.0f} / {r['p_spacings_from_one'][1]:.0f}",
            r["step"],
        ]
        for name, r in listed
        if r["cause"] == "tail"
    ]
    if tails:
        tables.append(
            (
                "Quantized tails (the largest |Δ| first): p near 1 and the step of z there",
                [
                    "map",
                    "voxel (i, j, k)",
                    "reference",
                    "candidate",
                    "|Δ|",
                    "1 - p in spacings: reference / candidate",
                    "step of z there",
                ],
                tails,
            )
        )
    others = [
        [
            name,
            ", ".join(map(str, r["ijk"])),
            CAUSE_NAMES[r["cause"]],
            r["reference"],
            r["candidate"],
            r["abs_delta"],
        ]
        for name, r in listed
        if r["cause"] not in ("tie", "tail")
    ]
    if others:
        tables.append(
            (
                "Other voxels beyond tolerance (the largest |Δ| first)",
                ["map", "voxel (i, j, k)", "cause", "reference", "candidate", "|Δ|"],
                others,
            )
        )
    return note, tables


def _unpaired(report: CompareReport) -> str:
    return (
        "Unpaired maps: missing from the candidate (fails the verdict) "
        f"{_fmt(report.only_reference)}; not compared (no reference map) "
        f"{_fmt(report.only_candidate)}."
    )


def _tolerance_text(report: CompareReport) -> str:
    text = f"{report.tolerance:g} on statistics (z, t, F, p)"
    if report.relative_tolerance is not None:
        text += f", {report.relative_tolerance:g} relative on effects and variances"
    return text


def _region_text(report: CompareReport) -> str:
    """Where the verdict's numbers are computed."""
    sizes = sorted({p.stats["n_reference"] + p.stats["only_candidate"] for p in report.pairs})
    if not sizes:
        voxels = "–"
    elif len(sizes) == 1:
        voxels = str(sizes[0])
    else:
        voxels = f"{sizes[0]} to {sizes[-1]}"
    return (
        "every pair of maps on the union of their supports (finite, non-zero voxels: "
        f"{voxels} voxels), the whole mask; thresholds and tables under convention "
        f"{report.convention}"
    )


def report_markdown(report: CompareReport) -> str:
    """The report as Markdown: verdict, explain ranking, and each pair's tables."""
    lines = [
        "# refglm compare",
        "",
        f"- reference: `{report.reference}`",
        f"- candidate: `{report.candidate}`",
        f"- tolerance: {_tolerance_text(report)}; thresholds and tables: convention "
        f"`{report.convention}`",
        f"- compared on: {_region_text(report)}",
        "",
        f"**Verdict: {report.verdict}**",
        "",
    ]
    if report.only_reference or report.only_candidate:
        lines += [_unpaired(report), ""]
    if report.explain:
        note, header, rows = _explain_lines(report.explain)
        lines += ["## Explain", "", f"**{report.explain['message']}**", "", f"({note})", ""]
        lines += _md_table(header, rows) + [""]
    if report.causes:
        note, tables = _causes_tables(report)
        lines += ["## Causes of the voxels beyond tolerance", "", note, ""]
        for title, header, rows in tables:
            lines += [f"### {title}", ""] + _md_table(header, rows) + [""]
    for pair in report.pairs:
        lines += [f"## {pair.name}", ""]
        for title, header, rows in _pair_tables(pair):
            lines += [f"### {title}", ""] + _md_table(header, rows) + [""]
    lines.append("Figures (Bland–Altman, slices of Δ): compare.html.")
    return "\n".join(lines) + "\n"


#: A cell whose text is one number (a value formatted ahead, e.g. a raw rho to 12 digits).
_NUMBER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|inf|-inf")

#: Columns whose cells never wrap: a map's name, a voxel's indices.
_NOWRAP_COLUMNS = ("map", "voxel (i, j, k)", "voxel of max |Δ| (i, j, k)")


def _html_table(header, rows, title: str = "") -> dict:
    """A table for the template: each cell's text, whether it is a number, and whether it wraps.

    Numbers (and texts that are one number) are aligned right and never wrap; a map's
    name and a voxel's indices never wrap either; any other text reads from the left.
    """
    nowrap = [h in _NOWRAP_COLUMNS for h in header]

    def cell(value, column):
        text = _fmt(value)
        number = _is_number(value) or (
            isinstance(value, str) and _NUMBER_TEXT.fullmatch(value) is not None
        )
        return {"text": text, "num": number, "nowrap": nowrap[column]}

    def head(text):
        # "max |Δ|" and "mean |Δ|" stay whole, and so does a one-word header ("--convention")
        text = text.replace("max |Δ|", "max\u00a0|Δ|").replace("mean |Δ|", "mean\u00a0|Δ|")
        return {"text": text, "num": False, "nowrap": " " not in text}

    return {
        "title": title,
        "header": [head(h) for h in header],
        "rows": [[cell(c, k) for k, c in enumerate(row)] for row in rows],
    }


def _anchor(name: str) -> str:
    return "pair-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


def report_context(report: CompareReport) -> dict:
    """What the template ``compare.html`` shows: the same tables as ``compare.md``."""
    context = dict(
        version=__version__,
        reference=report.reference,
        candidate=report.candidate,
        tolerance=f"{report.tolerance:g}",
        tolerance_text=_tolerance_text(report),
        region_text=_region_text(report),
        convention=report.convention,
        verdict=report.verdict,
        within_tolerance=report.within_tolerance,
        unpaired=_unpaired(report) if report.only_reference or report.only_candidate else "",
        explain=None,
        causes=None,
        pairs=[],
    )
    if report.explain:
        note, header, rows = _explain_lines(report.explain)
        context["explain"] = dict(
            message=report.explain["message"], note=note, table=_html_table(header, rows)
        )
    if report.causes:
        note, tables = _causes_tables(report)
        context["causes"] = dict(
            note=note, tables=[_html_table(h, r, title) for title, h, r in tables]
        )
    for pair in report.pairs:
        context["pairs"].append(
            dict(
                name=pair.name,
                anchor=_anchor(pair.name),
                tables=[_html_table(h, r, title) for title, h, r in _pair_tables(pair)],
                figures=[
                    dict(
                        caption=caption,
                        src="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                    )
                    for caption, png in pair.figures.items()
                ],
            )
        )
    return context


def report_html(report: CompareReport) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG).

    Rendered from the template ``compare.html`` beside the tutorial's ``report.html``
    (``refglm.report.render_report``), with the same stylesheet.
    """
    return render_report(report_context(report), "compare.html")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def write_report(report: CompareReport, out_dir) -> list[Path]:
    """Draw the figures and write ``compare.md``, ``compare.json``, ``compare.html``."""
    for pair in report.pairs:
        map_a, map_b = pair.reference_map, pair.candidate_map
        if map_a is None or map_b is None:
            continue
        a, b = finite_or_zero(map_a.data), finite_or_zero(map_b.data)
        union = support(map_a.data) | support(map_b.data)
        pair.figures[
            f"Bland–Altman: {pair.name}. Each voxel of the union of the supports: the mean of "
            "the two maps against their difference; the solid line is the mean difference, "
            "the dashed ones the limits of agreement (mean ± 1.96 SD)."
        ] = bland_altman_png(a, b, union, f"Bland–Altman: {pair.name}")
        background = report.background
        if background is not None and background.shape != a.shape:
            background = None
        behind = (
            "the reference fit's mean EPI"
            if background is not None
            else "the reference map's support (grey)"
        )
        pair.figures[
            f"Δ = candidate − reference: {pair.name}. Three axial cuts (the largest |Δ| and the "
            "slices with most |Δ|) in the neurological convention (L = subject's left), over "
            f"{behind}; voxels with Δ = 0 are not drawn."
        ] = delta_slices_png(
            a,
            b,
            union,
            map_a.affine,
            f"Δ: {pair.name}",
            background=background,
            reference_support=support(map_a.data),
        )
    with io.staged_output_dir(out_dir) as stage:
        io.atomic_write_text(stage / "compare.md", report_markdown(report))
        io.atomic_write_text(
            stage / "compare.json",
            json.dumps(_jsonable(report.as_dict()), indent=2, sort_keys=True) + "\n",
        )
        io.atomic_write_text(stage / "compare.html", report_html(report))
    out = Path(out_dir)
    return [out / "compare.md", out / "compare.json", out / "compare.html"]
