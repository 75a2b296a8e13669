"""``refglm compare``'s reports: compare.html from the report templates, compare.md, and
--explain's numbers, each said where it is computed and agreeing with one another.

compare.html is rendered from ``refglm/report/templates/compare.html`` through
``refglm.report.render_report`` with the tutorial report's stylesheet; text cells read
from the left, numbers from the right and never break; compare.md prints no Python
list. --explain's message, ranking and the verdict quote the same comparisons: the
baseline is the verdict's own, every number says its region (the box or every voxel),
and the verdict (explained, also within tolerance) is made on every voxel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import refglm.report
from tests.compare.test_compare import (
    EXIT_BEYOND,
    _brain,
    _candidate,
    _from_data_argv,
    _save,
    _z_map,
    main,
    synthetic_run,  # noqa: F401 - the module's fixture
)

TEMPLATES = Path(refglm.report.__file__).parent / "templates"


@pytest.fixture
def folders(tmp_path):
    """Two folders that differ a little, a map only in each (unpaired on both sides)."""
    _save(tmp_path / "a", _z_map())
    _save(tmp_path / "b", _z_map() + 1e-3 * _brain())
    _save(tmp_path / "a", _z_map(), name="onlyRef")
    _save(tmp_path / "b", _z_map(), name="onlyCand")
    main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")])
    return tmp_path / "out"


def test_html_shares_the_tutorial_reports_stylesheet(folders):
    html = (folders / "compare.html").read_text()
    style = (TEMPLATES / "_style.html").read_text()
    assert style in html
    assert '{% include "_style.html" %}' in (TEMPLATES / "report.html").read_text()


def test_html_is_rendered_through_render_report(folders, monkeypatch):
    import refglm.compare.report as report

    calls = []
    monkeypatch.setattr(report, "render_report", lambda ctx, name: calls.append(name) or "")
    report.write_report(_report_of(folders.parent), folders.parent / "again")
    assert calls == ["compare.html"]


def _report_of(tmp_path):
    from refglm.compare import compare_maps, load_maps

    return compare_maps(load_maps(tmp_path / "a"), load_maps(tmp_path / "b"))


def _cells(html: str):
    """(class, text) of every table cell of the page."""
    return [
        (cls.split()[0], re.sub(r"<[^>]+>", "", text))
        for cls, text in re.findall(r'<td class="([\w ]+)">(.*?)</td>', html, re.S)
    ]


NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^inf$")


def test_number_cells_hold_numbers_and_text_cells_text(folders):
    cells = _cells((folders / "compare.html").read_text())
    numbers = [text for cls, text in cells if cls == "num"]
    texts = [text for cls, text in cells if cls == "text"]
    assert numbers and texts
    assert all(NUMBER.match(t) for t in numbers), numbers
    assert "voxels compared (union of the supports)" in texts


def test_map_names_and_voxel_indices_never_wrap(explained):
    *_, html = explained
    cells = re.findall(r'<td class="([\w ]+)">(.*?)</td>', html, re.S)
    kept = {re.sub(r"<[^>]+>", "", text) for cls, text in cells if cls == "text nw"}
    assert "contrast-aMinusB_stat-z" in kept  # the causes' map column
    assert any(re.fullmatch(r"\d+, \d+, \d+", text) for text in kept)  # and voxel column


def test_a_voxels_indices_are_kept_together_in_a_text_cell(folders):
    html = (folders / "compare.html").read_text()
    cells = _cells(html)
    k = cells.index(("text", "voxel of max |Δ| (i, j, k)"))
    assert cells[k + 1][0] == "text" and re.fullmatch(r"\d+, \d+, \d+", cells[k + 1][1])
    assert re.search(r'<span class="nw">\d+, \d+, \d+</span>', html)  # kept together


def test_text_cells_are_left_aligned_and_numbers_never_break(folders):
    html = (folders / "compare.html").read_text()
    style = (TEMPLATES / "_style.html").read_text()
    assert "th, td { border: 1px solid #d0d4dc; padding: 3px 8px; text-align: left; }" in style
    assert "td.num, th.num { white-space: nowrap; }" in html
    assert ".nw { white-space: nowrap; }" in html
    # a number inside a text (the tolerance row, the verdict) is kept on one line
    assert '<span class="nw">1e-06</span>' in html


def test_markdown_prints_no_python_list(folders):
    md = (folders / "compare.md").read_text()
    assert re.search(r"\[\s*(\d|'|\")", md) is None, re.search(r"\[\s*(\d|'|\").{0,40}", md)
    assert "| voxel of max \\|Δ\\| (i, j, k) | " in md
    assert "missing from the candidate (fails the verdict) contrast-onlyRef_stat-z;" in md


def test_the_python_list_check_catches_one():
    assert re.search(r"\[\s*(\d|'|\")", "| voxel | [4, 5, 6] |") is not None


def test_the_delta_slices_are_drawn_over_the_reference_maps_support(folders):
    html = (folders / "compare.html").read_text()
    assert "over the reference map&#39;s support (grey)" in html


def test_the_bland_altman_caption_names_its_lines(folders):
    html = (folders / "compare.html").read_text()
    assert "the solid line is the mean difference, the dashed ones the limits of agreement" in html


# -------------------------------------------------------------- --explain's numbers


@pytest.fixture(scope="module")
def explained(synthetic_run, tmp_path_factory):  # noqa: F811
    """compare.json and compare.md of a nilearn candidate against a nistats reference."""
    tmp = tmp_path_factory.mktemp("explained")
    cand = _candidate(synthetic_run, tmp / "cand", "nilearn")
    out = tmp / "o"
    assert main([str(cand), *_from_data_argv(synthetic_run, out), "--explain"]) == EXIT_BEYOND
    report = json.loads((out / "compare.json").read_text())
    return report, (out / "compare.md").read_text(), (out / "compare.html").read_text()


@pytest.fixture(scope="module")
def boxed(synthetic_run, tmp_path_factory):  # noqa: F811
    """The same, ranked on a box of about 60 of the run's voxels."""
    tmp = tmp_path_factory.mktemp("boxed")
    cand = _candidate(synthetic_run, tmp / "cand", "nilearn")
    out = tmp / "o"
    argv = [str(cand), *_from_data_argv(synthetic_run, out), "--explain"]
    assert main([*argv, "--explain-voxels", "60"]) == EXIT_BEYOND
    return json.loads((out / "compare.json").read_text()), (out / "compare.md").read_text()


def _pairs_max(report) -> float:
    return max(p["stats"]["max_abs"] for p in report["pairs"])


def test_the_baseline_is_the_verdicts_own_comparison(explained):
    report, *_ = explained
    baseline = report["explain"]["baseline"]
    assert baseline["max_abs"] == _pairs_max(report)
    beyond = sum(p["stats"]["n_beyond_tolerance"] for p in report["pairs"])
    assert baseline["n_beyond_tolerance"] == beyond


def test_the_message_and_the_table_print_the_same_digits(explained):
    report, md, _ = explained
    baseline = report["explain"]["baseline"]["max_abs"]
    assert f"baseline: reference convention nistats, max|Δ| {baseline:.3g}" in md
    row = next(r for r in report["explain"]["ranking"] if r["name"] == "nistats")
    assert row["max_abs"] == baseline
    assert f"| convention nistats | nistats | {baseline:.3g} |" in md


def test_the_message_says_where_its_numbers_are_computed(explained):
    report, *_ = explained
    voxels = report["explain"]["regions"]["mask"]["voxels"]
    assert (
        "Every number above is computed on every voxel of the mask (the "
        f"{voxels} voxels of the candidate's maps)" in report["explain"]["message"]
    )


def test_a_box_ranking_names_its_region_in_each_column(boxed):
    report, md = boxed
    box = report["explain"]["box"]
    assert (
        box is not None and box["support_voxels"] < report["explain"]["regions"]["mask"]["voxels"]
    )
    header = next(line for line in md.splitlines() if line.startswith("| variant |"))
    assert "max \\|Δ\\|, box | voxels beyond, box | mean \\|Δ\\|, box |" in header
    assert "max \\|Δ\\|, mask | voxels beyond, mask |" in header
    assert f"ranked on the box, a cube of {box['voxels']} voxels around the largest" in md


def test_the_leaders_rows_carry_their_whole_mask_scores(boxed):
    report, _ = boxed
    explain = report["explain"]
    leaders = [r for r in explain["ranking"] if "mask" in r]
    assert leaders
    best = next(r for r in leaders if r["name"] == explain["best"]["name"])
    assert best["mask"]["max_abs"] == explain["best"]["max_abs"]
    assert explain["best"]["region"] == "mask"


def test_the_verdict_of_explain_is_made_on_every_voxel(boxed):
    report, _ = boxed
    explain = report["explain"]
    refitted = {r["label"] for r in explain["ranking"] if "mask" in r}
    assert set(explain["also_within_tolerance"]) <= refitted
    within = [r for r in explain["ranking"] if r.get("mask") and r["mask"]["max_abs"] <= 1e-6]
    assert explain["best"]["within_tolerance"] == bool(within)


def test_the_slices_are_drawn_over_the_reference_fits_mean_image(synthetic_run, tmp_path):  # noqa: F811
    cand = _candidate(synthetic_run, tmp_path / "cand", "nistats")
    main([str(cand), *_from_data_argv(synthetic_run, tmp_path / "o")])
    html = (tmp_path / "o" / "compare.html").read_text()
    assert "over the reference fit&#39;s mean EPI" in html


def test_explain_counts_are_whole_mask_numbers_in_the_json(boxed):
    report, _ = boxed
    explain = report["explain"]
    regions = {r["region"] for r in explain["ranking"]}
    assert regions == {"box"}
    assert np.isfinite(explain["baseline"]["max_abs"]) and explain["baseline"]["region"] == "mask"


def test_a_candidate_the_best_convention_explains_has_no_unexplained_effect_voxel(
    synthetic_run,  # noqa: F811
    tmp_path,
):
    """Effects and variances are accounted with the best convention's maps of them too.

    A nilearn candidate with its effect and variance maps: "candidate matches convention
    nilearn" must not be followed by unexplained voxels of those maps.
    """
    from refglm.first_level.model import FirstLevelModel
    from tests.compare.test_compare import T_R

    model = FirstLevelModel(
        t_r=T_R, mask_img=synthetic_run / "mask.nii.gz", convention="nilearn"
    ).fit(synthetic_run / "run.nii.gz", synthetic_run / "events.tsv")
    cand = tmp_path / "cand"
    cand.mkdir()
    for kind, output in (
        ("z", "z_score"),
        ("effect", "effect_size"),
        ("variance", "effect_variance"),
    ):
        model.compute_contrast("a - b", output_type=output).to_filename(
            cand / f"contrast-aMinusB_stat-{kind}_statmap.nii.gz"
        )
    out = tmp_path / "o"
    main([str(cand), *_from_data_argv(synthetic_run, out), "--explain"])
    explain = json.loads((out / "compare.json").read_text())["explain"]
    assert explain["best"]["name"] == "nilearn"
    counts = {name: entry["counts"] for name, entry in explain["voxels"]["maps"].items()}
    assert counts["contrast-aMinusB_stat-effect"]["convention"] > 0
    assert explain["voxels"]["unexplained"] == 0 and explain["explained"]


def test_long_names_may_wrap_after_a_plus_numbers_never(explained):
    *_, html = explained
    assert "nilearn+<wbr>" in html  # a flip's name, e.g. in the ranking's --convention column
    assert re.search(r"\d<wbr>|<wbr>\d", html.split("<main>")[1]) is None


def test_a_cell_that_must_not_wrap_has_no_break_opportunity(explained):
    """Chromium breaks at <wbr> even under white-space: nowrap."""
    *_, html = explained
    cells = re.findall(r'<td class="text nw">(.*?)</td>', html, re.S)
    assert cells and not any("<wbr>" in cell for cell in cells)
