"""The wheel ships what refglm reads at run time: golden values, templates, the data manifest.

``refglm validate`` and the tutorial's report read the golden values as package data
(``refglm.validation``), the report renders ``refglm/report/templates``, and
``refglm fetch`` verifies against ``refglm/datasets/data/spm_auditory.json``: a wheel
without them would fail only after installation. The test builds the wheel from this
checkout, as ``pip install`` does (its build requirements come from the package index
the machine is configured with).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Package data, as paths inside the wheel.
PACKAGE_DATA = [
    "refglm/validation/golden/spm_auditory_thresholds.json",
    "refglm/validation/golden/spm_auditory_design.json",
    "refglm/validation/golden/spm_auditory_clusters.json",
    "refglm/validation/golden/spm_auditory_clusters.tsv",
    "refglm/report/templates/report.html",
    "refglm/datasets/data/spm_auditory.json",
]


def test_package_data_is_read_through_the_package():
    for rel in PACKAGE_DATA:
        package, _, name = rel.removeprefix("refglm/").partition("/")
        resource = resources.files(f"refglm.{package}").joinpath(name)
        assert resource.is_file(), rel


@pytest.mark.slow
def test_the_wheel_ships_every_package_data_file(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("refglm-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in PACKAGE_DATA:
        assert rel in names, rel
    assert "refglm/validation/spm_auditory.py" in names  # the checks beside their values
