"""Package boundaries: what loads at start-up, the layer contracts, the API, one source per fact.

The layers themselves are import-linter contracts (``[tool.importlinter]`` in
``pyproject.toml``), checked by ``lint-imports`` in ``make test``; the tests here
prove that each contract can fail (:func:`test_each_contract_catches_its_violation`)
and check what the contracts cannot express.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import refglm
from refglm.conventions import CHOICE_FIELDS, CHOICE_VALUES, CONVENTIONS, get_convention
from refglm.exceptions import InputError

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "refglm"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: What neither ``import refglm`` nor ``refglm --help`` may load: the fast start
#: (scipy too: it alone costs more than the 0.3 s of CPU that --help may take).
HEAVY = ("statsmodels", "matplotlib", "pandas", "jinja2", "nibabel", "scipy", "joblib")


def _loaded_after(code: str) -> list[str]:
    """The heavy libraries in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\nimport sys, json\n"
        "print(json.dumps(sorted(set(m.split('.')[0] for m in sys.modules))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    return [name for name in HEAVY if name in loaded]


def test_import_refglm_loads_no_heavy_library():
    assert _loaded_after("import refglm") == []


def test_refglm_help_loads_no_heavy_library():
    code = (
        "import contextlib, io\n"
        "from refglm.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0\n"
        "    for command in ('tutorial', 'fit', 'validate', 'fetch', 'explain-voxel', 'compare'):\n"
        "        assert main([command, '--help']) == 0"
    )
    assert _loaded_after(code) == []


def test_a_usage_error_loads_no_heavy_library():
    code = (
        "import contextlib, io\n"
        "from refglm.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    assert main(['fit', '--hrf-model', 'bogus']) == 2"
    )
    assert _loaded_after(code) == []


def test_public_names_load_on_first_use():
    code = "import refglm; refglm.FirstLevelModel; refglm.map_threshold; refglm.get_convention"
    loaded = _loaded_after(code)
    assert "statsmodels" not in loaded  # the engines load when a fit asks for one
    assert "matplotlib" not in loaded and "jinja2" not in loaded


def test_public_api():
    for name in refglm.__all__:
        assert getattr(refglm, name) is not None, name
    assert refglm.__version__ == "0.1.0"
    assert set(refglm.__all__) == {
        "FirstLevelModel",
        "map_threshold",
        "get_clusters_table",
        "CONVENTIONS",
        "get_convention",
        "InputError",
        "DataIntegrityError",
        "NotEstimableError",
        "OutputWriteError",
        "__version__",
    }
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        refglm.nope  # noqa: B018


SUBPACKAGES = sorted(
    ".".join(p.relative_to(REPO).parent.parts) for p in PACKAGE.rglob("__init__.py")
)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_public_name_of_a_subpackage_resolves(package):
    module = __import__(package, fromlist=["__all__"])
    for name in getattr(module, "__all__", ()):
        assert getattr(module, name) is not None, (package, name)


#: Every module of the numerics, found by path: a new module is checked without a list.
NUMERICS = sorted(
    str(p.relative_to(REPO))
    for package in ("glm", "inference")
    for p in (PACKAGE / package).rglob("*.py")
)


def _tree(rel: str) -> ast.Module:
    return ast.parse((REPO / rel).read_text(), rel)


@pytest.mark.parametrize("rel", NUMERICS)
def test_numerics_do_not_print(rel):
    """Arrays in, arrays out: the numerics never print."""
    printing = [
        node.lineno
        for node in ast.walk(_tree(rel))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]
    assert printing == []


@pytest.mark.parametrize("rel", NUMERICS)
def test_numerics_import_no_files_figures_or_conventions(rel):
    """Per module, what the numerics contract of pyproject.toml forbids (imports in
    functions included), so that a failure names the module and the line."""
    forbidden = ("nibabel", "matplotlib", "jinja2", "refglm.io", "refglm.plotting")
    forbidden += ("refglm.report", "refglm.cli", "refglm.conventions")
    found = []
    for node in ast.walk(_tree(rel)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found += [
            f"{node.lineno}: {n}"
            for n in names
            if any(n == f or n.startswith(f + ".") for f in forbidden)
        ]
    assert found == []


# ------------------------------------------------------------------ the contracts


def test_import_linter_contracts_are_kept():
    """What ``make test`` runs first: every contract of ``pyproject.toml`` is kept."""
    run = subprocess.run([LINT_IMPORTS], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stdout[-3000:]


# One violation per contract, each written into a copy of the package.
_VIOLATIONS = {
    # a numerics module reads the convention table, and through it io
    "refglm/glm/noise.py": "from refglm.conventions import CONVENTIONS  # violation\n",
    # a figure drawn outside plotting
    "refglm/io/atomic.py": "import matplotlib  # violation\n",
    # a cycle inside a subpackage: threshold_map already imports voxel
    "refglm/inference/voxel.py": (
        "def _cycle():\n    from refglm.inference import threshold_map  # violation\n"
    ),
    # a private module of glm.engines read from first_level
    "refglm/first_level/summary.py": "import refglm.glm.engines._common  # violation\n",
    # a private name of glm.design read from the CLI
    "refglm/cli/fetch.py": "from refglm.glm.design.hrf import _check_fir_delays  # violation\n",
    # an import that no linter sees
    "refglm/report/wording.py": (
        "def _hidden():\n    import importlib\n\n"
        "    return importlib.import_module('refglm.io')  # violation\n"
    ),
}
_BROKEN = [
    "Layers:",
    "Numerics (glm, inference)",
    "matplotlib is imported only in refglm.plotting",
    "Private modules are imported only inside their own package",
    "No private name crosses from one subpackage into another",
    "No cycles, at any depth",
    "No importlib imports of refglm modules",
]


def _statuses(stdout: str) -> dict[str, str]:
    """``{contract name (as far as _BROKEN names it): 'KEPT' or 'BROKEN'}`` from lint-imports."""
    summary = " ".join(stdout[stdout.index("Contracts\n") :].split())
    found = re.findall(r"(?:^|(?<=KEPT )|(?<=BROKEN ))(.+?) (KEPT|BROKEN)(?= |$)", summary)
    statuses = {}
    for text, status in found:
        name = next((n for n in _BROKEN if n in text), text.split(" dependencies. ")[-1])
        statuses[name] = status
    return statuses


@pytest.mark.slow
def test_each_contract_catches_its_violation(tmp_path):
    """The contracts can fail: a copy of the package with one violation each breaks them all."""
    shutil.copytree(PACKAGE, tmp_path / "refglm", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").touch()
    shutil.copy(REPO / "tests" / "import_contracts.py", tmp_path / "tests")
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    for rel, code in _VIOLATIONS.items():
        path = tmp_path / rel
        path.write_text(path.read_text() + "\n\n" + code)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    run = subprocess.run(
        [LINT_IMPORTS, "--no-cache"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert run.returncode == 1, run.stdout[-3000:]
    statuses = _statuses(run.stdout)
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    # every contract of pyproject.toml is read from the summary
    assert len(statuses) == len(config["tool"]["importlinter"]["contracts"])
    assert statuses == {name: "BROKEN" for name in _BROKEN} | {
        name: "KEPT" for name in statuses if name not in _BROKEN
    }
    # ... and the untouched copy keeps them all: the violations, not the copy, broke them
    for rel in _VIOLATIONS:
        shutil.copy(PACKAGE / Path(rel).relative_to("refglm"), tmp_path / rel)
    again = subprocess.run(
        [LINT_IMPORTS, "--no-cache"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert again.returncode == 0, again.stdout[-3000:]


# ----------------------------------------------------------- one source per fact


def test_every_convention_sets_every_choice():
    for conv in CONVENTIONS.values():
        assert set(conv.as_dict()) == {"name", *CHOICE_FIELDS}


def test_choice_values_are_the_step_modules_own():
    """``CHOICE_VALUES`` is built from the step modules' tuples, not restated."""
    from refglm.glm import contrasts, engines, masking, noise, scaling
    from refglm.glm.design import formulas
    from refglm.inference import cluster_table, rft, voxel
    from refglm.io import dtypes

    owners = {
        "input_dtype": dtypes.INPUT_DTYPES,
        "mask_mean_dtype": masking.MASK_MEAN_DTYPES,
        "scaling_dtype": scaling.SCALING_DTYPES,
        "standardize_rule": scaling.STANDARDIZE_RULES,
        "standardize_ddof": scaling.STANDARDIZE_DDOFS,
        "multi_run_mask": masking.MULTI_RUN_MASKS,
        "ar_p_binning": noise.AR_P_BINNINGS,
        "df_scale": engines.DF_SCALES,
        "ar_estimator": noise.AR_ESTIMATORS,
        "ar_binning": noise.AR_BINNINGS,
        "ar_fit": engines.AR_FITS,
        "whiten_scan0": noise.WHITEN_SCAN0,
        "df": engines.DF_RULES,
        "cov_pinv": engines.COV_PINVS,
        "hrf_formula": formulas.HRF_FORMULAS,
        "z_method": contrasts.Z_METHODS,
        "fdr_formula": voxel.FDR_FORMULAS,
        "cluster_table_rules": cluster_table.CLUSTER_TABLE_RULES,
        "mask_method": masking.MASK_METHODS,
        "scaling_method": scaling.SCALING_METHODS,
        "design_builder": formulas.DESIGN_BUILDERS,
        "contrast_dtype": contrasts.CONTRAST_DTYPES,
        "height_rule": rft.HEIGHT_RULES,
    }
    # every choice with a tuple of values has its owner here
    assert set(owners) == {k for k, v in CHOICE_VALUES.items() if isinstance(v, tuple)} - {
        "two_sided",
        "threshold_keep_equal",
        "threshold_split_signs",
        "cluster_table_two_sided",
        "cluster_connectivity",
    }
    for key, values in owners.items():
        assert CHOICE_VALUES[key] is values, key


def test_engine_defaults_are_the_nistats_row():
    from refglm.glm.engines import FIXED_DEFAULTS

    nistats = get_convention("nistats")
    assert FIXED_DEFAULTS == {key: getattr(nistats, key) for key in FIXED_DEFAULTS}


def test_default_convention_is_nistats():
    conv = get_convention("nistats")
    assert (conv.ar_estimator, conv.ar_binning, conv.whiten_scan0) == (
        "lag1_ratio",
        "truncate",
        "keep",
    )


def test_unknown_convention_is_input_error():
    with pytest.raises(InputError, match="convention: expected one of nistats"):
        get_convention("bogus")


# ------------------------------------------------------------------------- the facades


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def test_refglm_never_imports_the_peers_nilearn_or_nistats():
    """The peers are test extras: refglm.nilearn and refglm.nistats reimplement, never wrap."""
    found = [
        (str(p.relative_to(REPO)), name)
        for p in PACKAGE.rglob("*.py")
        for name in _imported_modules(p)
        if name.split(".")[0] in ("nilearn", "nistats")
    ]
    assert found == []


def test_only_the_facades_import_the_facades():
    """Nothing below them imports refglm.nilearn or refglm.nistats; nistats' may use nilearn's."""
    found = []
    for p in PACKAGE.rglob("*.py"):
        rel = p.relative_to(PACKAGE).parts
        for name in _imported_modules(p):
            if name.startswith("refglm.nistats") and rel[0] != "nistats":
                found.append((str(p.relative_to(REPO)), name))
            if name.startswith("refglm.nilearn") and rel[0] not in ("nilearn", "nistats"):
                found.append((str(p.relative_to(REPO)), name))
    assert found == []


def test_import_refglm_loads_no_facade():
    probe = "import refglm, sys; print(sorted(m for m in sys.modules if m.startswith('refglm.ni')))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"
