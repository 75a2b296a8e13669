"""Exit 2 prints one line on stderr, even when warnings came before the error.

A run can warn (NaN voxels excluded from the mask, onsets moved to the first
sample) and then fail on bad input (the mask is empty). The error must still
be the only line on stderr: warnings are printed only when the run succeeds.
The library-level tests check that each scenario does warn, then fail, so
that the CLI tests cannot pass for the wrong reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from refglm import cli, io
from refglm.exceptions import InputError
from refglm.first_level.model import FirstLevelModel
from tests.cli.test_bad_inputs import SHAPE, T_R, fit_args, listing, run_cli, synthetic_run


def _nan_voxels_then_empty_mask(tmp_path):
    """A mask of the one voxel that is NaN in one scan: warned about, then excluded."""
    data, affine, events = synthetic_run()
    data = data.copy()
    data[5, 5, 5, 3] = np.nan
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[5, 5, 5] = 1
    bold = io.save_image(data, tmp_path / "bold.nii.gz", affine)
    mask_img = io.save_image(mask, tmp_path / "mask.nii.gz", affine)
    tsv = tmp_path / "events.tsv"
    events.to_csv(tsv, sep="\t", index=False)
    return data, affine, events, bold, tsv, mask_img


def _early_onset_then_empty_mask(tmp_path):
    """An onset 100 s before the run (moved to the first sample, warned) and all-zero data."""
    data, affine, events = synthetic_run()
    events = events.copy()
    events.loc[0, "onset"] = -100.0
    zeros = np.zeros_like(data)
    bold = io.save_image(zeros, tmp_path / "zeros.nii.gz", affine)
    tsv = tmp_path / "events.tsv"
    events.to_csv(tsv, sep="\t", index=False)
    return zeros, affine, events, bold, tsv, None


SCENARIOS = {
    "nan-voxels+empty-mask": (_nan_voxels_then_empty_mask, "voxels have NaN or Inf values"),
    "early-onset+empty-mask": (_early_onset_then_empty_mask, "onsets are earlier than"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_library_warns_then_refuses(scenario, tmp_path):
    make, warning = SCENARIOS[scenario]
    data, affine, events, _, _, mask_img = make(tmp_path)
    with pytest.warns(UserWarning, match=warning), pytest.raises(InputError, match="mask"):
        FirstLevelModel(t_r=T_R, mask_img=mask_img).fit_array(data, affine, events)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_cli_error_after_warnings_is_one_line(scenario, tmp_path):
    make, _ = SCENARIOS[scenario]
    _, _, _, bold, tsv, mask_img = make(tmp_path)
    out = tmp_path / "out"
    extra = ["--mask", str(mask_img)] if mask_img is not None else []
    before = listing(tmp_path)
    code, stdout, err = run_cli(fit_args((bold, tsv), out, extra=extra))
    assert code == cli.EXIT_INPUT, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # the error only, no "refglm: warning: ..." before it
    assert lines[0].startswith("refglm: error: ") and "mask" in lines[0]
    assert stdout == "" and not out.exists() and listing(tmp_path) == before
