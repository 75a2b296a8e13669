"""An image whose affine is unreadable, non-finite or singular is bad input, named early."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from refglm import cli, io
from refglm.exceptions import InputError


def _image_with_sform(path, srow_x):
    """Write the header's srow_x as given (nib.save would rebuild it from a given affine)."""
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((4, 4, 4, 5))
    hdr.set_data_dtype(np.float32)
    hdr.set_sform(np.eye(4), code=1)
    hdr.set_qform(None, code=0)
    hdr["srow_x"] = srow_x
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4, 5), dtype=np.float32), None, header=hdr), path)
    return path


@pytest.mark.parametrize(
    ("srow_x", "words"),
    [([np.nan, 0, 0, 0], "affine"), ([0, 0, 0, 0], "singular")],
    ids=["nan", "singular"],
)
def test_bad_affine_is_an_input_error_naming_the_file(tmp_path, srow_x, words):
    path = _image_with_sform(tmp_path / "bad.nii", srow_x)
    with pytest.raises(InputError) as excinfo:
        io.load_run(path)
    message = str(excinfo.value)
    assert str(path) in message and words in message and "sform" in message


def test_bad_affine_through_the_cli_is_exit_2_with_one_line(tmp_path, capsys):
    path = _image_with_sform(tmp_path / "bad.nii", [np.nan, 0, 0, 0])
    events = tmp_path / "events.tsv"
    events.write_text("onset\tduration\n0\t2\n")
    out = tmp_path / "out"
    code = cli.main(
        ["fit", "--func", str(path), "--events", str(events), "--t-r", "2", "--contrast",
         "dummy", "--out", str(out)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == cli.EXIT_INPUT
    assert len(err.strip().splitlines()) == 1 and "bad.nii" in err and "Traceback" not in err
    assert not out.exists()
