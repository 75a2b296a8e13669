"""What ``refglm compare`` found, and its reports ``compare.md``, ``.json`` and ``.html``.

:class:`PairReport` holds one pair of maps' agreement, :class:`CompareReport`
every pair's and the verdict; :func:`write_report` draws the figures
(:mod:`refglm.plotting.compare`) and writes the three files.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refglm import io
from refglm.compare.accounting import CAUSE_NAMES, EXCUSED, counts_line
from refglm.compare.agreement import finite_or_zero, support
from refglm.compare.causes import CAUSES
from refglm.compare.maps import StatMap
from refglm.plotting import bland_altman_png, delta_slices_png

__all__ = ["PairReport", "CompareReport", "report_markdown", "report_html", "write_report"]


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
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.{digits}g}"
    return str(value)


def _md_table(header, rows) -> list[str]:
    header = [h.replace("|", "\\|") for h in header]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _pair_tables(pair: PairReport):
    s = pair.stats
    tables = [
        (
            "Agreement",
            ["quantity", "value"],
            [
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
    what = "max |Δ| / max |candidate|" if ex.get("relative") else "max |Δ|"
    rows = [
        [
            r["label"],
            r["name"],
            r["max_abs"],
            r["n_beyond_tolerance"],
            r["mean_abs"],
            ", ".join(r["same_maps"]) or "–",
        ]
        for r in ex["ranking"][:top]
    ]
    note = (
        f"engine {ex['engine']}; {ex.get('n_variants', len(ex['ranking']))} variants (every "
        "named convention and every single-choice flip of each); scored on "
        f"{', '.join(ex.get('scored_maps', []))} with tolerance {ex.get('tolerance', 0):g}; "
        + (
            f"ranked on a cube of {ex['box']['voxels']} voxels around the largest difference; "
            "the leading variants refitted on every voxel"
            if ex["box"]
            else "ranked on every voxel"
        )
        + "; variants with bitwise identical maps share a row"
    )
    header = ["variant", "--convention", what, "voxels beyond tolerance", "mean |Δ|", "same maps"]
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


def report_markdown(report: CompareReport) -> str:
    """The report as Markdown: verdict, explain ranking, and each pair's tables."""
    lines = [
        "# refglm compare",
        "",
        f"- reference: `{report.reference}`",
        f"- candidate: `{report.candidate}`",
        f"- tolerance: {report.tolerance:g} on statistics (z, t, F, p)"
        + (
            f", {report.relative_tolerance:g} relative on effects and variances"
            if report.relative_tolerance is not None
            else ""
        )
        + f"; thresholds and tables: convention `{report.convention}`",
        "",
        f"**Verdict: {report.verdict}**",
        "",
    ]
    if report.only_reference or report.only_candidate:
        lines += [
            f"Unpaired maps: missing from the candidate (fails the verdict) "
            f"{report.only_reference or '–'}; not compared (no reference map) "
            f"{report.only_candidate or '–'}.",
            "",
        ]
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


def _html_table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(report: CompareReport) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
    esc = html.escape
    ok = report.within_tolerance
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>refglm compare</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}th{background:#eee}.ok{color:#1a7f37}"
        ".bad{color:#cf222e}img{max-width:100%}</style></head><body>",
        "<h1>refglm compare</h1>",
        f"<p>reference: <code>{esc(report.reference)}</code><br>candidate: "
        f"<code>{esc(report.candidate)}</code><br>tolerance {report.tolerance:g}; thresholds "
        f"and tables: convention <code>{esc(report.convention)}</code></p>",
        f"<h2 class='{'ok' if ok else 'bad'}'>{esc(report.verdict)}</h2>",
    ]
    if report.explain:
        note, header, rows = _explain_lines(report.explain)
        parts += [
            "<h2>Explain</h2>",
            f"<p><b>{esc(report.explain['message'])}</b> ({esc(note)})</p>",
            _html_table(header, rows),
        ]
    if report.causes:
        note, tables = _causes_tables(report)
        parts += ["<h2>Causes of the voxels beyond tolerance</h2>", f"<p>{esc(note)}</p>"]
        for title, header, rows in tables:
            parts += [f"<h3>{esc(title)}</h3>", _html_table(header, rows)]
    for pair in report.pairs:
        parts.append(f"<h2>{esc(pair.name)}</h2>")
        for title, header, rows in _pair_tables(pair):
            parts += [f"<h3>{esc(title)}</h3>", _html_table(header, rows)]
        for caption, png in pair.figures.items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img alt='{esc(caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


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
        pair.figures["Bland–Altman: " + pair.name] = bland_altman_png(
            a, b, union, f"Bland–Altman: {pair.name}"
        )
        pair.figures["Δ = candidate − reference: " + pair.name] = delta_slices_png(
            a, b, union, map_a.affine, f"Δ: {pair.name}"
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
