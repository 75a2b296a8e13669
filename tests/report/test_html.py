"""report.html: results first, self-contained, complete, deterministic, and rendered by a browser.

The browser tests open the report in headless Chromium (Debian's
``chromium``; ``.ci/run`` installs it): every image decodes, the sections come
in their order (summary, maps, ...), the first brain image is on the first
screen, and the long tables are collapsed. Without Chromium they skip, or fail
with REFGLM_REQUIRE_CHROMIUM=1, saying how to install it.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from refglm.conventions import get_convention
from refglm.report import methods_paragraph
from refglm.report.methods import input_text

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

FIGURES = [
    "design_matrix.png",
    "design_correlation.png",
    "expected_response.png",
    "mask.png",
    "contrast-activeMinusRest_design.png",
    "contrast-activeMinusRest_thresh-z3.png",
    "contrast-activeMinusRest_thresh-fpr.png",
    "contrast-activeMinusRest_thresh-bonferroni.png",
    "contrast-activeMinusRest_thresh-fdr.png",
    "contrast-activeMinusRest_thresh-fdrCluster10.png",
    "contrast-effectsOfInterest_design.png",
    "contrast-effectsOfInterest_thresh-fdrCluster10.png",
]


@pytest.fixture(scope="module")
def report_dir(tutorial_results, tmp_path_factory):
    from refglm.workflows import write_tutorial

    out = tmp_path_factory.mktemp("report") / "results"
    write_tutorial(tutorial_results, out, figures=True, report=True)
    return out


def _html(report_dir) -> str:
    return (report_dir / "report.html").read_text(encoding="utf-8")


def test_every_figure_is_written_and_embedded(report_dir):
    html = _html(report_dir)
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == len(FIGURES)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    for name in FIGURES:
        png = (report_dir / "figures" / name).read_bytes()
        assert png in embedded, name
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_report_is_self_contained(report_dir):
    html = _html(report_dir)
    assert not re.search(r'src="(?!data:)', html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html


def test_files_table_links_every_file_beside_the_report(report_dir):
    html = _html(report_dir)
    links = re.findall(r'<a href="(?!#)([^"]+)"', html)
    files = {str(p.relative_to(report_dir)) for p in report_dir.rglob("*") if p.is_file()}
    assert files <= set(links)
    assert set(links) <= files


def test_files_table_describes_each_figure(report_dir):
    html = _html(report_dir)
    for name in FIGURES:
        row = re.search(
            rf'<a href="figures/{name}"><code>[^<]*</code></a></td><td>([^<]*)</td>', html
        )
        assert row and row[1].startswith("Figure: "), name


def test_report_content(report_dir, tutorial_results):
    html = _html(report_dir)
    # methods generated from the parameters, the run's record and the convention
    assert "repetition time 7 s" in html
    assert "The input was 96 3-D volumes (<code>fM00223_004.img</code> to" in html
    assert "stored as float64 and stacked into one float32 array" in html
    assert "SPM canonical haemodynamic response function" in html
    assert "13 discrete cosine drift regressors (high-pass cut-off 0.01 Hz" in html
    assert "truncated toward zero to a grid of 1/100" in html
    assert "keeping scan 0 unscaled" in html
    assert "one-sided (positive effects)" in html
    # the mask and its voxel count
    assert "<strong>62073</strong> voxels" in html
    # thresholds of the seed
    for thr in ("3.000", "3.090", "4.797", "2.760"):
        assert f'<td class="num">{thr}</td>' in html
    # the cluster table (37 rows of the tutorial), peak to 6 decimals
    assert "9.811979" in html and "8.601922" in html
    assert "37 rows." in html
    # the golden checks, all passing
    assert "Golden-value checks" in html
    n_checks = len(html.split('<details id="all-checks">')[1].split('<span class="pass">')) - 1
    assert f"{n_checks} of {n_checks} checks pass" in html
    assert "FAIL" not in html
    for column in ("quantity", "value", "golden", "delta", "tolerance", "pass"):
        assert f"<th>{column}</th>" in html


def test_cluster_filtered_maps_keep_the_tutorial_title_and_state_the_rule(report_dir):
    # map_threshold(cluster_threshold=10) keeps clusters of exactly 10 voxels (six of them in
    # the t map's 833 voxels), so the tutorial's title "clusters > 10 voxels" gets a caption
    html = _html(report_dir)
    assert "Active minus Rest (fdr=0.05), clusters &gt; 10 voxels" in html, "the title is gone"
    figure = html.split('<figure id="contrast-activeMinusRest_thresh-fdrCluster10">')[1]
    caption = re.search(r"<figcaption>(.*?)</figcaption>", figure, re.S)
    assert "clusters kept: at least 10 voxels, 833 voxels." in caption[1]
    assert "removes clusters of fewer than 10 voxels" in caption[1]


def test_report_holds_the_golden_checks_from_the_package(tutorial_results, tmp_path):
    """The golden values ship with refglm (``refglm.validation``): the tutorial's report has
    their table wherever refglm is installed (it used to need the source tree, and said so)."""
    from refglm.validation import checks_for
    from refglm.workflows import write_tutorial

    write_tutorial(tutorial_results, tmp_path, figures=False, report=True)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<a href="#checks">Golden checks</a>' in html
    assert "<th>golden</th>" in html
    n = len(checks_for(tutorial_results))
    assert f"<strong>{n} of {n} checks pass</strong>" in html


def test_summary_gives_the_golden_verdict_in_one_line(report_dir):
    summary = _html(report_dir).split('<section id="summary">')[1].split("</section>")[0]
    verdict = re.search(r"<strong>Golden checks:</strong> <span[^>]*>([^<]*)</span>", summary)
    assert verdict and re.fullmatch(
        r"(\d+) of \1 checks pass; largest \|delta\| \S+ \(.* Peak Stat, tolerance 5e-06\)",
        verdict[1],
    )


def test_summary_lists_every_map_with_its_threshold(report_dir):
    table = _html(report_dir).split('<table id="summary-maps">')[1].split("</table>")[0]
    for thr in ("3.000", "3.090", "4.797", "2.760", "2.201"):
        assert f'<td class="num">{thr}</td>' in table
    assert table.count("<tr>") == 1 + 6


def test_golden_checks_print_whole_numbers_whole(report_dir):
    rows = _html(report_dir).split('<details id="all-checks">')[1]
    assert '<td>row 0 (1) X</td><td class="num">-60</td><td class="num">-60</td>' in rows
    assert "000000" not in rows


def test_subpeak_sizes_are_empty_and_explained(report_dir):
    rows = _html(report_dir).split('<details id="all-checks">')[1]
    cell = '<td>row 1 (1a) Cluster Size (mm3)</td><td class="num"></td><td class="num"></td>'
    assert cell in rows
    assert '<td class="num">-1</td>' not in rows
    assert "Subpeak rows (IDs such as 1a, 1b) have no cluster size" in rows


def test_tutorial_z_maps_draw_both_signs(report_dir, tutorial_results):
    # plot_stat_map(z_map, threshold=3.0): |z| > 3, so the 1343 voxels below -3 are drawn too
    z = tutorial_results.z_maps["activeMinusRest"].get_fdata()
    html = _html(report_dir)
    row = re.search(r"Active minus Rest \(Z&gt;3\)</a></td>(.*?)</tr>", html)
    assert f'<td>both signs</td><td class="num">{int((abs(z) > 3).sum())}</td>' in row[1]
    assert int((z < -3).sum()) == 1343


def test_one_sided_maps_say_so_in_their_title(report_dir):
    html = _html(report_dir)
    assert "clusters &gt; 10 voxels; positive side only, z &gt; 2.760" in html
    assert "Effects of interest (fdr=0.05), clusters &gt; 10 voxels; positive side only" in html


def test_report_records_versions_and_input_hashes(report_dir):
    html = _html(report_dir)
    versions = html.split('<h3 id="versions">')[1].split("</table>")[0]
    for name in ("refglm", "numpy", "scipy", "statsmodels", "nibabel"):
        assert f"<td>{name}</td>" in versions
    inputs = html.split('<details id="inputs">')[1].split("</details>")[0]
    assert inputs.count('<td class="hash">') == 96 * 2 + 1  # .img, .hdr, events
    assert re.search(
        r'<code>fM00223_events.tsv</code>.*?<td class="hash">[0-9a-f]{64}</td>', inputs
    )


def test_report_and_figures_are_deterministic(report_dir, tutorial_results, tmp_path):
    from refglm.workflows import write_tutorial

    again = tmp_path / "again"
    write_tutorial(tutorial_results, again, figures=True, report=True)
    files = sorted(p.relative_to(report_dir) for p in report_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (report_dir / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_methods_paragraph_follows_the_parameters():
    design = pd.DataFrame(
        {"a": [0.0, 1.0, 0.0], "constant": [1.0, 1.0, 1.0]}, index=[0.0, 2.0, 4.0]
    )
    params = dict(t_r=2.0, noise_model="ols", hrf_model="glover", drift_model="polynomial")
    params["drift_order"] = 3
    text = methods_paragraph(params, get_convention("nistats"), design, 10, [])
    assert "the Glover HRF" in text
    assert "polynomial drifts up to order 3" in text
    assert "1 event regressor (a)" in text
    assert "AR(1)" not in text


def _record(layout, n, stored, held, files=("run.nii.gz",)):
    return dict(
        input_data=dict(layout=layout, n_volumes=n, stored_dtype=stored, held_dtype=held),
        input_files=[dict(role="func", file=f, bytes=1, sha256="0" * 64) for f in files],
    )


def test_methods_describe_one_4d_float32_image():
    text = input_text(_record("4-D image", 1, "float32", "float32"), get_convention("nistats"))
    assert text.startswith("The input was one 4-D image (<code>run.nii.gz</code>), stored as")
    assert "float32 and held as it is stored" in text
    assert "3-D volumes" not in text and "concat_imgs" not in text


def test_methods_describe_3d_volumes_stacked():
    record = _record("3-D volumes", 2, "int16", "float32", ("a.img", "a.hdr", "b.img", "b.hdr"))
    text = input_text(record, get_convention("nistats"))
    assert "2 3-D volumes (<code>a.img</code> to <code>b.img</code>), stored as int16" in text
    assert "stacked into one float32 array, as nilearn's <code>concat_imgs</code>" in text
    assert "The sha256 of each of the 4 input files" in text


def test_methods_describe_a_conversion_to_float64():
    conv = get_convention("nistats").flipped(input_dtype="float64")
    text = input_text(_record("4-D image", 1, "int16", "float64"), conv)
    assert "converted to float64 (<code>input_dtype='float64'</code>)" in text


def test_methods_name_the_versions():
    design = pd.DataFrame({"a": [0.0, 1.0], "constant": [1.0, 1.0]}, index=[0.0, 2.0])
    params = dict(t_r=2.0, noise_model="ols", hrf_model="glover", drift_model=None)
    params["versions"] = {"refglm": "0.1.0", "numpy": "2.0", "nibabel": "5.0"}
    text = methods_paragraph(params, get_convention("nistats"), design, 10, [])
    assert text.endswith("Versions: refglm 0.1.0, numpy 2.0 and nibabel 5.0.")


_CHECK_SCRIPT = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var out = document.createElement('pre');
  out.id = 'refglm-image-check';
  out.textContent = 'IMAGES ' + imgs.length + ' BROKEN ' + bad.length + ' WIDTHS ' +
    imgs.map(function (i) { return i.naturalWidth; }).join(',');
  document.body.appendChild(out);
});
</script>
"""


def _chromium() -> str:
    """Headless Chromium, required in CI and optional on a developer's machine.

    ``make test`` must pass on a fresh machine that has only python3 and make,
    so without a browser this one test skips there, saying how to run it.
    ``.ci/run`` installs Debian's chromium and sets REFGLM_REQUIRE_CHROMIUM=1,
    so in CI a missing browser fails instead of skipping.
    """
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        message = (
            "chromium not found: this test renders report.html in headless Chromium. "
            "Install Debian's package (`apt-get update && apt-get install -y chromium`); "
            ".ci/run does this in CI."
        )
        if os.environ.get("REFGLM_REQUIRE_CHROMIUM") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return exe


def test_report_renders_in_headless_chromium(report_dir, tmp_path):
    exe = _chromium()
    page = tmp_path / "report_checked.html"
    page.write_text(_html(report_dir).replace("</body>", _CHECK_SCRIPT + "</body>"))
    profile = tmp_path / "chromium-profile"
    out = subprocess.run(
        [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    match = re.search(r"IMAGES (\d+) BROKEN (\d+) WIDTHS ([\d,]*)", out.stdout)
    assert match, f"no image check in the DOM; chromium said:\n{out.stderr[-2000:]}"
    n, broken, widths = int(match[1]), int(match[2]), match[3].split(",")
    assert n == len(FIGURES)
    assert broken == 0
    assert all(int(w) > 0 for w in widths)
    # and a screenshot of the page renders
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            f"--screenshot={shot}",
            (report_dir / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert shot.stat().st_size > 50_000


_LAYOUT_SCRIPT = """
<script>
window.addEventListener('load', function () {
  var ids = Array.prototype.map.call(document.querySelectorAll('main > section'),
                                     function (s) { return s.id; });
  var details = Array.prototype.map.call(document.querySelectorAll('details'), function (d) {
    var rows = d.querySelectorAll('tr');
    var shown = Array.prototype.filter.call(rows, function (r) {
      return r.checkVisibility(); }).length;
    return d.id + ':' + (d.open ? 'open' : 'closed') + ':' + shown + '/' + rows.length;
  });
  var brain = document.querySelector('section.contrast figure img');
  var out = document.createElement('pre');
  out.id = 'refglm-layout';
  out.textContent = 'LAYOUT ' + JSON.stringify({
    sections: ids, details: details,
    first_brain_top: brain.getBoundingClientRect().top + window.scrollY,
    viewport: window.innerHeight});
  document.body.appendChild(out);
});
</script>
"""


@pytest.fixture(scope="module")
def layout(report_dir, tmp_path_factory):
    """What Chromium lays out at 1280 x 1000 px: section order, details, first brain image."""
    import json

    exe = _chromium()
    tmp = tmp_path_factory.mktemp("layout")
    page = report_dir / "report_layout.html"
    page.write_text(_html(report_dir).replace("</body>", _LAYOUT_SCRIPT + "</body>"))
    try:
        out = subprocess.run(
            [
                exe,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp / 'profile'}",
                "--window-size=1280,1000",
                "--virtual-time-budget=10000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        page.unlink()
    match = re.search(r"LAYOUT (\{.*?\})\s*</pre>", out.stdout)
    assert match, f"no layout in the DOM; chromium said:\n{out.stderr[-2000:]}"
    return json.loads(match[1].replace("&quot;", '"'))


def test_report_leads_with_the_summary_then_the_maps(layout):
    assert layout["sections"] == [
        "summary",
        "contrast-activeMinusRest",
        "contrast-effectsOfInterest",
        "design",
        "mask",
        "checks",
        "methods",
        "parameters",
        "outputs",
    ]


def test_first_brain_image_is_on_the_first_screen(layout):
    # it sat 3,300 px down, under the methods and a 31-row parameter table
    assert layout["first_brain_top"] < layout["viewport"]


def test_long_tables_are_collapsed(layout):
    details = {d.split(":")[0]: d.split(":")[1:] for d in layout["details"]}
    assert set(details) == {"all-checks", "inputs", "convention-internals"}
    for name, (state, rows) in details.items():
        shown, total = map(int, rows.split("/"))
        assert state == "closed" and shown == 0 and total > 10, name
