"""load_run of 3-D volumes read in place, and the mean image computed during the load.

The volumes of a run are read one by one into the preallocated 4-D array (Fortran
order, as nilearn's ``concat_imgs``): raw bytes through one reused buffer when the file
allows it (uncompressed, unscaled, values exact in float64), else through
``read_volume``. Either way each volume must hold nibabel's float64 read cast to the
run's dtype, and the mean image returned with ``mean_dtype`` must be
``refglm.glm.masking.mean_epi`` of the run, bit for bit.
"""

import nibabel as nib
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from refglm import io
from refglm.exceptions import InputError
from refglm.glm.masking import MASK_MEAN_DTYPES, mean_epi
from refglm.io import images

SHAPE = (7, 6, 5)
N_SCANS = 12


def _stored(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) * 1000 + 3000
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(values, info.min, info.max).astype(dtype)
    return values.astype(dtype)


def _float64_then_cast(path, dtype):
    """The former read: nibabel's float64 array, then one cast (nilearn's concat_imgs)."""
    return np.asarray(nib.load(str(path)).dataobj, dtype=np.float64).astype(dtype)


def _write_volumes(folder, stored_dtype, kind="nifti", slope=None, seed=0, shape=SHAPE):
    """N_SCANS 3-D files of ``stored_dtype``; ``kind``: nifti, pair (.hdr/.img), analyze,
    big-endian, gz or 4d1 (each volume saved as x, y, z, 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(N_SCANS):
        data = _stored(stored_dtype, shape, seed + k)
        if kind == "4d1":
            data = data[..., np.newaxis]
        if kind == "pair":
            img, name = nib.Nifti1Pair(data, np.eye(4)), f"vol{k:03d}.img"
        elif kind == "analyze":
            img, name = nib.AnalyzeImage(data, np.eye(4)), f"vol{k:03d}.img"
        elif kind == "big-endian":
            header = nib.Nifti1Header(endianness=">")
            img, name = nib.Nifti1Image(data, np.eye(4), header), f"vol{k:03d}.nii"
        elif kind == "gz":
            img, name = nib.Nifti1Image(data, np.eye(4)), f"vol{k:03d}.nii.gz"
        else:
            img = nib.Nifti1Image(data, np.eye(4), dtype=data.dtype)
            name = f"vol{k:03d}.nii"
        if slope is not None:
            img.header.set_slope_inter(slope, -12.5)
        path = folder / name
        nib.save(img, str(path))
        paths.append(path)
    return paths


CASES = [
    ("float64", "pair", None),  # the SPM auditory data's layout
    ("float64", "nifti", None),
    ("float32", "nifti", None),
    ("int32", "nifti", None),
    ("int16", "nifti", None),
    ("uint8", "nifti", None),
    ("float64", "big-endian", None),
    ("float64", "analyze", None),
    ("float32", "4d1", None),
    ("int16", "nifti", 0.37),  # scaled: through read_volume
    ("float32", "gz", None),  # compressed: through read_volume
    ("int64", "nifti", None),  # not exact in float64: through read_volume
]


@pytest.mark.parametrize("stored, kind, slope", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_volumes_read_in_place_give_the_float64_read_cast(tmp_path, stored, kind, slope, dtype):
    paths = _write_volumes(tmp_path, stored, kind, slope)
    expected = np.stack([_float64_then_cast(p, dtype).reshape(SHAPE) for p in paths], axis=-1)
    data, affine = io.load_run(paths, dtype=dtype)
    assert_array_equal(data, expected, strict=True)
    assert data.flags.f_contiguous and data.flags.owndata
    assert_array_equal(affine, nib.load(str(paths[0])).affine)


@pytest.mark.parametrize("kind", ["pair", "nifti", "big-endian", "analyze", "4d1", "gz"])
def test_the_fast_read_is_taken_where_it_applies(tmp_path, kind, monkeypatch):
    # the raw read must be the path for plain files, and read_volume's for compressed ones
    paths = _write_volumes(tmp_path, "float64", kind)
    taken = []
    original = images._direct_source
    monkeypatch.setattr(
        images, "_direct_source", lambda loaded: taken.append(original(loaded)) or taken[-1]
    )
    io.load_run(paths)
    direct = [source is not None for source in taken]
    assert direct == [kind != "gz"] * N_SCANS


def test_a_mixed_run_of_direct_and_scaled_volumes(tmp_path):
    plain = _write_volumes(tmp_path / "plain", "int16")
    scaled = _write_volumes(tmp_path / "scaled", "int16", slope=0.37, seed=100)
    paths = [p for pair in zip(plain, scaled, strict=True) for p in pair]
    expected = np.stack([_float64_then_cast(p, np.float32) for p in paths], axis=-1)
    data, _ = io.load_run(paths)
    assert_array_equal(data, expected, strict=True)


# ---------------------------------------------------------------- the mean image
def _random_run(dtype, seed=3):
    """Values whose float32 sums round: the scan-order sum differs from numpy's pairwise one."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(SHAPE + (40,)) * 977.3 + 5011.7).astype(dtype)


def test_the_random_run_tells_scan_order_from_pairwise_sums():
    run = _random_run(np.float32)
    pairwise = np.ascontiguousarray(run).mean(axis=-1)  # C order: numpy's pairwise sum
    assert (pairwise != mean_epi(run, "input")).any()


@pytest.mark.parametrize("mean_dtype", MASK_MEAN_DTYPES)
@pytest.mark.parametrize("stored", ["float32", "float64", "int16"])
@pytest.mark.parametrize("run_dtype", [np.float32, np.float64])
def test_mean_of_3d_volumes_is_mean_epi_bit_for_bit(tmp_path, mean_dtype, stored, run_dtype):
    run = _random_run(stored)
    paths = []
    for k in range(run.shape[3]):
        paths.append(tmp_path / f"vol{k:03d}.nii")
        nib.save(nib.Nifti1Image(run[..., k], np.eye(4)), str(paths[-1]))
    loaded = io.load_run(paths, dtype=run_dtype, mean_dtype=mean_dtype)
    assert isinstance(loaded, io.LoadedRun)
    data, affine, mean = loaded
    expected = mean_epi(data, mean_dtype)
    assert mean.dtype == expected.dtype
    assert mean.tobytes() == expected.tobytes()


@pytest.mark.parametrize("mean_dtype", MASK_MEAN_DTYPES)
@pytest.mark.parametrize("stored", ["float32", "int16"])
def test_mean_of_a_4d_file_is_mean_epi_bit_for_bit(tmp_path, mean_dtype, stored):
    path = tmp_path / "run.nii"
    nib.save(nib.Nifti1Image(_random_run(stored), np.eye(4)), str(path))
    run_dtype = io.run_dtype(path, "native")  # int16 stays int16: its mean is float64
    data, _, mean = io.load_run(path, dtype=run_dtype, mean_dtype=mean_dtype)
    expected = mean_epi(data, mean_dtype)
    assert mean.dtype == expected.dtype
    assert mean.tobytes() == expected.tobytes()


def test_mean_of_nan_and_inf_volumes_is_mean_epi(tmp_path):
    run = _random_run(np.float32)
    run[1, 2, 3, 5] = np.nan
    run[2, 2, 2, 0] = np.inf
    run[3, 3, 3, 7], run[3, 3, 3, 9] = np.inf, -np.inf
    paths = []
    for k in range(run.shape[3]):
        paths.append(tmp_path / f"vol{k:03d}.nii")
        nib.save(nib.Nifti1Image(run[..., k], np.eye(4)), str(paths[-1]))
    data, _, mean = io.load_run(paths, mean_dtype="input")
    assert_array_equal(mean, mean_epi(data, "input"))


def test_the_mean_dtypes_are_the_conventions():
    assert io.MEAN_DTYPES == MASK_MEAN_DTYPES


def test_an_unknown_mean_dtype_is_an_input_error(tmp_path):
    paths = _write_volumes(tmp_path, "float32")
    with pytest.raises(InputError, match="mask_mean_dtype: expected one of"):
        io.load_run(paths, mean_dtype="float16")


def test_without_mean_dtype_load_run_gives_data_and_affine(tmp_path):
    paths = _write_volumes(tmp_path, "float32")
    out = io.load_run(paths)
    assert isinstance(out, tuple) and len(out) == 2


# ---------------------------------------------------------------- checks kept
def test_a_volume_shortened_after_its_check_is_an_input_error(tmp_path, monkeypatch):
    # the file-size check runs on the header; a file cut between it and the read
    # (or a check bypassed) still gives an input error, not a short read
    paths = _write_volumes(tmp_path, "float64", "pair")
    monkeypatch.setattr(images, "_check_declared_bytes", lambda loaded, shown: None)
    img = paths[4]
    img.write_bytes(img.read_bytes()[:100])
    with pytest.raises(InputError) as excinfo:
        io.load_run(paths)
    message = str(excinfo.value)
    assert str(img) in message and "cannot be read" in message and "truncated" in message


def test_a_mismatched_volume_is_refused_before_its_data_are_read(tmp_path, monkeypatch):
    paths = _write_volumes(tmp_path, "float64", "pair")
    other = _write_volumes(tmp_path / "other", "float64", "pair", shape=(7, 6, 4))[0]
    reads = []
    original = images._read_volume_into
    monkeypatch.setattr(
        images, "_read_volume_into", lambda *args: reads.append(args[1]) or original(*args)
    )
    with pytest.raises(InputError, match=r"expected a 3-D volume of shape \(7, 6, 5\)"):
        io.load_run([*paths[:3], other, *paths[3:]])
    assert reads == paths[:3]


def test_the_whole_run_is_checked_against_the_memory_budget_before_allocation(
    tmp_path, monkeypatch
):
    paths = _write_volumes(tmp_path, "float64", "pair")
    run_bytes = int(np.prod(SHAPE)) * 4 * N_SCANS
    monkeypatch.setattr(images, "memory_budget", lambda: (run_bytes, "a test budget"))
    allocated = []
    original_empty = np.empty

    def empty(shape, *args, **kwargs):
        allocated.append(shape)
        return original_empty(shape, *args, **kwargs)

    monkeypatch.setattr(images.np, "empty", empty)
    with pytest.raises(InputError, match="fits in memory"):
        io.load_run(paths)
    assert allocated == []
