"""Package boundaries: import cost, layering, public API, conventions table."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from refglm.conventions import CHOICE_FIELDS, CONVENTIONS, get_convention
from refglm.exceptions import InputError

PACKAGE = Path(__file__).resolve().parents[1] / "refglm"
NUMERICS = [
    "_checks",
    "hrf_shapes",
    "hrf_derivatives",
    "hrf",
    "regressors",
    "drifts",
    "events",
    "design",
    "masking",
    "noise",
    "fit",
    "contrasts",
    "thresholds",
    "voxel_thresholds",
    "clusters",
    "peaks",
    "labelling",
    "clusters_nilearn",
    "_map_checks",
    "conventions",
    "agreement",
    "scaling",
    "trace_steps",
]


def test_import_refglm_does_not_load_matplotlib():
    code = "import sys, refglm; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.add(node.module.split(".")[0])
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("module", NUMERICS)
def test_numerics_do_not_import_io_plotting_or_nibabel(module):
    names = _imports(module)
    forbidden = {"nibabel", "matplotlib", "refglm.io", "refglm.plotting", "refglm.cli"}
    assert not names & forbidden, names & forbidden


@pytest.mark.parametrize("module", NUMERICS)
def test_numerics_do_not_print(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
    ]
    assert not calls


def test_only_io_imports_nibabel():
    users = [p.stem for p in PACKAGE.glob("*.py") if "nibabel" in _imports(p.stem)]
    assert users == ["io"]


def test_every_convention_sets_every_choice():
    for conv in CONVENTIONS.values():
        assert set(conv.as_dict()) == {"name", *CHOICE_FIELDS}


def test_default_convention_is_nistats():
    conv = get_convention("nistats")
    assert (conv.ar_estimator, conv.ar_binning, conv.whiten_scan0) == (
        "lag1_ratio",
        "truncate",
        "keep",
    )


def test_unknown_convention_is_input_error():
    with pytest.raises(InputError, match="convention: expected one of nistats"):
        get_convention("spm12")


def test_public_api():
    import refglm

    for name in ("FirstLevelModel", "map_threshold", "get_clusters_table", "InputError"):
        assert hasattr(refglm, name)
