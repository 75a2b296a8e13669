"""``refglm fetch spm-auditory``: --data-dir verifies, --cache-dir downloads.

``--data-dir DIR`` (like ``$REFGLM_DATA_DIR``) names a folder that must
already hold the data: nothing is downloaded, and when the data are not
there the one-line error names the commands that do download them.
``--cache-dir DIR`` downloads into ``DIR/spm_auditory``. Nothing here uses
the network: downloads go to an unreachable local address.
"""

from __future__ import annotations

import pytest

from refglm import cli
from tests.cli.test_bad_inputs import one_line, run_cli
from tests.conftest import spm_auditory_dir

UNREACHABLE_URL = "http://127.0.0.1:1/MoAEpilot.zip"


@pytest.fixture(autouse=True)
def _no_data_dir_nor_network(monkeypatch, tmp_path):
    monkeypatch.delenv("REFGLM_DATA_DIR", raising=False)
    monkeypatch.setenv("REFGLM_CACHE_DIR", str(tmp_path / "user-cache"))
    monkeypatch.setenv("REFGLM_SPM_AUDITORY_URL", UNREACHABLE_URL)


def test_missing_data_dir_suggests_the_cache_dir_above_it(tmp_path):
    """--data-dir D/spm_auditory that does not exist: `--cache-dir D` fills it."""
    code, _, err = run_cli(["fetch", "spm-auditory", "--data-dir", tmp_path / "spm_auditory"])
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert "it does not exist; --data-dir only verifies data already there" in line
    assert f"`refglm fetch spm-auditory --cache-dir {tmp_path}`" in line
    assert f"(into {tmp_path / 'spm_auditory'})" in line


def test_data_dir_downloads_nothing(tmp_path):
    run_cli(["fetch", "spm-auditory", "--data-dir", tmp_path / "data"])
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_empty_data_dir_env_suggests_unsetting_it(tmp_path, monkeypatch):
    """With $REFGLM_DATA_DIR set, a plain `refglm fetch spm-auditory` would verify it again."""
    monkeypatch.setenv("REFGLM_DATA_DIR", str(tmp_path))
    code, _, err = run_cli(["fetch", "spm-auditory"])
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert line.startswith(f"refglm: error: $REFGLM_DATA_DIR {tmp_path}: ")
    assert "`env -u REFGLM_DATA_DIR refglm fetch spm-auditory`" in line


def test_cache_dir_downloads_into_it_whatever_data_dir_env_says(tmp_path, monkeypatch):
    monkeypatch.setenv("REFGLM_DATA_DIR", str(spm_auditory_dir()))
    code, _, err = run_cli(["fetch", "spm-auditory", "--cache-dir", tmp_path / "cache"])
    assert code == cli.EXIT_INPUT  # the download was tried, from the unreachable address
    line = one_line(err)
    assert f"{UNREACHABLE_URL}: download of the SPM auditory data failed" in line
    assert f"nothing was saved in {tmp_path / 'cache'}" in line


def test_cache_dir_verifies_data_already_there(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "spm_auditory").symlink_to(spm_auditory_dir(), target_is_directory=True)
    code, out, err = run_cli(["fetch", "spm-auditory", "--cache-dir", tmp_path / "cache"])
    assert code == cli.EXIT_OK, err
    data = tmp_path / "cache" / "spm_auditory"
    assert out.splitlines()[0] == f"spm-auditory: 96 volumes verified in {data}"


def test_cache_dir_says_how_the_other_commands_find_the_data(tmp_path):
    """--cache-dir D fills D/spm_auditory: the other commands take that as --data-dir."""
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "spm_auditory").symlink_to(spm_auditory_dir(), target_is_directory=True)
    _, out, _ = run_cli(["fetch", "spm-auditory", "--cache-dir", tmp_path / "cache"])
    data = tmp_path / "cache" / "spm_auditory"
    assert out.splitlines()[1] == (
        f"  the other commands read them with --data-dir {data} "
        f"(or REFGLM_CACHE_DIR={tmp_path / 'cache'})"
    )
    code, _, err = run_cli(["fetch", "spm-auditory", "--data-dir", data])
    assert code == cli.EXIT_OK, err  # the folder it names is one --data-dir verifies


def test_help_names_the_two_layouts():
    _, out, _ = run_cli(["fetch", "--help"])
    text = " ".join(out.split())
    assert "--data-dir DIR is the dataset folder itself, DIR/sub001/fM00223/" in text
    assert "the data go into DIR/spm_auditory/sub001/" in text


def test_data_dir_and_cache_dir_together_are_bad_usage(tmp_path):
    code, _, err = run_cli(["fetch", "spm-auditory", "--data-dir", "a", "--cache-dir", "b"])
    assert code == cli.EXIT_INPUT
    assert "argument --cache-dir: not allowed with argument --data-dir" in one_line(err)
