"""Bad inputs whose messages used to say the wrong thing, or that were accepted silently."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from refglm import cli, io
from refglm.exceptions import InputError
from refglm.first_level.model import FirstLevelModel
from tests.cli.test_bad_inputs import fit_args, listing, one_line, run_cli, run_files  # noqa: F401


def test_a_5d_image_is_named_as_such(tmp_path):
    path = tmp_path / "five.nii"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4, 6, 2), dtype=np.float32), np.eye(4)), path)
    with pytest.raises(InputError, match=r"found a 5-D image of shape \(4, 4, 4, 6, 2\)"):
        io.load_run(path)


def test_a_header_without_its_data_file_is_named(tmp_path):
    img = nib.Nifti1Pair(np.ones((4, 4, 4), dtype=np.float32), np.eye(4))
    nib.save(img, tmp_path / "vol.img")
    (tmp_path / "vol.img").unlink()
    with pytest.raises(InputError) as excinfo:
        io.read_volume(tmp_path / "vol.hdr")
    message = str(excinfo.value)
    assert "vol.hdr" in message and "vol.img" in message and "without its data file" in message


def test_complex_data_is_refused_not_silently_made_real(tmp_path):
    path = tmp_path / "complex.nii"
    data = np.ones((4, 4, 4, 6), dtype=np.complex64)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    with pytest.raises(InputError, match="expected real-valued image data, found complex"):
        io.load_run(path)


@pytest.mark.parametrize("chunk_size", [0, -1, 2.5, "big"])
def test_chunk_size_must_be_a_positive_whole_number(chunk_size):
    with pytest.raises(InputError, match="chunk_size: expected a whole number of voxels >= 1"):
        FirstLevelModel(t_r=2.0, chunk_size=chunk_size)._check_params()


def test_threshold_with_a_height_control_is_refused_not_ignored(run_files, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    code, _, err = run_cli(
        fit_args(run_files, out, extra=["--height-control", "fdr", "--threshold", "3"])
    )
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert "--threshold" in line and "--height-control none" in line
    assert not out.exists()


def test_repetition_time_in_milliseconds_is_named(tmp_path):
    from refglm.io.bids_raw import MAX_PLAUSIBLE_T_R, find_bids_run

    root = tmp_path / "bids"
    func = root / "sub-01" / "func"
    func.mkdir(parents=True)
    nib.save(
        nib.Nifti1Image(np.ones((4, 4, 4, 6), dtype=np.float32), np.eye(4)),
        func / "sub-01_task-a_bold.nii.gz",
    )
    (func / "sub-01_task-a_bold.json").write_text(json.dumps({"RepetitionTime": 2000}))
    (func / "sub-01_task-a_events.tsv").write_text("onset\tduration\n0\t2\n")
    with pytest.raises(InputError) as excinfo:
        find_bids_run(root, task="a")
    message = str(excinfo.value)
    assert "2000" in message and "milliseconds" in message and "(e.g. 2)" in message
    assert MAX_PLAUSIBLE_T_R == 100.0


def _synthetic():
    from tests.cli.test_bad_inputs import synthetic_run

    return synthetic_run()


def test_a_mask_on_a_shifted_grid_names_the_affine():
    data, affine, events = _synthetic()
    shifted = affine.copy()
    shifted[0, 3] += 3.0
    mask_img = io.to_image(np.ones(data.shape[:3], dtype=np.uint8), shifted)
    with pytest.raises(InputError) as excinfo:
        FirstLevelModel(t_r=2.0, mask_img=mask_img).fit_array(data, affine, events)
    message = str(excinfo.value)
    assert "affine" in message and "differs by up to 3" in message and "resample" in message


def test_an_empty_mask_img_is_blamed_not_the_data():
    data, affine, events = _synthetic()
    mask_img = io.to_image(np.zeros(data.shape[:3], dtype=np.uint8), affine)
    with pytest.raises(InputError) as excinfo:
        FirstLevelModel(t_r=2.0, mask_img=mask_img).fit_array(data, affine, events)
    message = str(excinfo.value)
    assert "mask_img has no voxel > 0" in message and "all-zero data" not in message


def test_a_nearly_empty_regressor_is_not_called_rank_deficient_at_full_rank(
    run_files,  # noqa: F811
    tmp_path,
):
    """An event 0.1 s before the last scan (duration 0) gives a tiny, full-rank column.

    The contrast on it is not estimable at is_estimable's tolerance; the message used
    to read "rank-deficient design (rank 5 < 5 columns)".
    """
    import pandas as pd

    from tests.cli.test_bad_inputs import N_SCANS, T_R

    bold, tsv = run_files
    events = pd.read_csv(tsv, sep="\t")
    late = pd.DataFrame({"onset": [(N_SCANS - 1) * T_R - 0.1], "duration": [0.0]})
    late["trial_type"] = "late"
    late_tsv = tmp_path / "late_events.tsv"
    pd.concat([events, late]).to_csv(late_tsv, sep="\t", index=False)
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args((bold, late_tsv), out, **{"--contrast": "late"}))
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert "nearly rank-deficient design (condition number" in line and "(rank " not in line
    assert not out.exists()
