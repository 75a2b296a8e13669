"""report.html: self-contained, complete, deterministic, and rendered by a real browser.

The browser test opens the report in headless Chromium (Debian's
``chromium``; ``.ci/run`` installs it) and checks that every image decoded.
Without Chromium the test fails, saying how to install it.
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
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html


def test_report_content(report_dir, tutorial_results):
    html = _html(report_dir)
    # methods generated from the parameters and the convention
    assert "repetition time 7 s" in html
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
    n_checks = html.count('<span class="pass">pass</span>')
    assert f"{n_checks} of {n_checks} checks pass" in html
    assert "FAIL" not in html
    for column in ("quantity", "value", "golden", "delta", "tolerance", "pass"):
        assert f"<th>{column}</th>" in html


def test_cluster_filtered_maps_keep_the_tutorial_title_and_state_the_rule(report_dir):
    # map_threshold(cluster_threshold=10) keeps clusters of exactly 10 voxels (six of them in
    # the t map's 833 voxels), so the tutorial's title "clusters > 10 voxels" gets a caption
    html = _html(report_dir)
    caption = re.search(
        r"<figcaption>Active minus Rest \(fdr=0.05\), clusters &gt; 10 voxels: (.*?)</figcaption>",
        html,
    )
    assert caption, "the tutorial's title of the cluster-filtered map is gone"
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
