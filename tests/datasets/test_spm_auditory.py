"""Tests of refglm.datasets: locating, downloading and verifying the SPM auditory data.

The real data are read from ``$REFGLM_DATA_DIR`` or ``../shared/data/spm_auditory``
relative to the repository root; that folder is read-only and never written to.
Downloads are served from a local ``ThreadingHTTPServer``; nothing here uses the
network or the user's cache.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import os
import shutil
import threading
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from refglm import datasets, io
from refglm.datasets import (
    Bunch,
    fetch_spm_auditory,
    load_spm_auditory_manifest,
    verify_spm_auditory,
    volume_content_hash,
)
from refglm.datasets import layout as _data_layout
from refglm.exceptions import DataIntegrityError, InputError
from refglm.io import read_volume

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "spm_auditory"
# Read at import, before any test's monkeypatch can change it.
REAL_DATA_ENV = os.environ.get("REFGLM_DATA_DIR")
FUNC = _data_layout.FUNC_SUBDIR
UNREACHABLE_URL = "http://127.0.0.1:1/MoAEpilot.zip"


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real SPM auditory data; missing data FAIL the test (never skip)."""
    candidate = Path(REAL_DATA_ENV).expanduser() if REAL_DATA_ENV else DEFAULT_REAL_DATA
    missing = _data_layout.missing_files(candidate)
    if missing:
        pytest.fail(
            f"SPM auditory data not found in {candidate} ({len(missing)} required files "
            f"missing, e.g. {missing[0]}). Set REFGLM_DATA_DIR to the folder holding "
            "sub001/fM00223/fM00223_004..099.{hdr,img} and fM00223_events.tsv.",
            pytrace=False,
        )
    return candidate


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """Keep every test off the network, the user's cache and the caller's settings."""
    for var in (datasets.ENV_DATA_DIR, datasets.ENV_CACHE_DIR, _data_layout.ENV_URL):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(datasets.ENV_CACHE_DIR, str(tmp_path / "default-cache"))
    monkeypatch.setenv(_data_layout.ENV_URL, UNREACHABLE_URL)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


def _mirror(real: Path, dest: Path, copies=()) -> Path:
    """A data folder of symlinks to ``real``, except ``copies`` (relative paths), copied."""
    for rel in _data_layout.required_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in copies:
            shutil.copyfile(real / rel, target)
            target.chmod(0o644)
        else:
            target.symlink_to(real / rel)
    return dest


@pytest.fixture(scope="session")
def analyze_dir(real_data_dir, tmp_path_factory) -> Path:
    """The 96 volumes as SPM99-style Analyze: int16, shape (64, 64, 64, 1).

    ``<stem>.hdr`` stores the affine in SPM's origin field; ``<stem>.noorigin.hdr``
    has the origin zeroed and relies on the ``<stem>.mat`` sidecar that nibabel
    writes, as SPM does after reorienting. Plain ``AnalyzeImage`` can do neither
    (see test_plain_analyze_loses_the_origin).
    """
    out = tmp_path_factory.mktemp("analyze")
    for stem in _data_layout.FUNC_STEMS:
        data, affine = read_volume(real_data_dir / FUNC / f"{stem}.img")
        as_int = data.astype(np.int16)
        assert np.array_equal(as_int, data), "real volumes are expected to hold int16 values"
        img = nib.Spm2AnalyzeImage(as_int[..., np.newaxis], affine)
        origin = np.zeros(5, dtype=np.int16)  # 1-based voxel at world (0, 0, 0)
        origin[:3] = np.round(1 - affine[:3, 3] / np.diag(affine)[:3])
        img.header["origin"] = origin
        nib.save(img, str(out / f"{stem}.img"))  # also writes <stem>.mat
        header = img.header.copy()
        header["origin"] = np.zeros(5, dtype=np.int16)
        (out / f"{stem}.noorigin.hdr").write_bytes(header.binaryblock)
    return out


def _write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    return path


def _moae_entries(analyze_dir: Path, real: Path, prefix: str, mat: bool) -> dict[str, bytes]:
    """Zip entries: headers with the origin, or (``mat``) without it plus ``.mat`` sidecars."""
    entries = {f"{prefix}README.txt": (real / "sub001" / "README.txt").read_bytes()}
    for stem in _data_layout.FUNC_STEMS:
        hdr = analyze_dir / (f"{stem}.noorigin.hdr" if mat else f"{stem}.hdr")
        entries[f"{prefix}fM00223/{stem}.hdr"] = hdr.read_bytes()
        entries[f"{prefix}fM00223/{stem}.img"] = (analyze_dir / f"{stem}.img").read_bytes()
        if mat:
            entries[f"{prefix}fM00223/{stem}.mat"] = (analyze_dir / f"{stem}.mat").read_bytes()
    # Decoys the fetcher must ignore: anatomy, a realigned volume, a SPM .mat file.
    entries[f"{prefix}sM00223/sM00223_002.hdr"] = b"\0" * 348
    entries[f"{prefix}sM00223/sM00223_002.img"] = b"\0" * 64
    entries[f"{prefix}fM00223/rfM00223_004.img"] = b"not a volume"
    entries[f"{prefix}fM00223/fM00223_100.img"] = b"not a volume either"
    return entries


@pytest.fixture(scope="session")
def served(analyze_dir, real_data_dir, tmp_path_factory):
    """An HTTP server on 127.0.0.1 serving MoAEpilot.zip variants; yields its base URL."""
    root = tmp_path_factory.mktemp("served")
    good = _moae_entries(analyze_dir, real_data_dir, prefix="MoAEpilot/", mat=False)
    _write_zip(root / "good" / "MoAEpilot.zip", good)
    flat = _moae_entries(analyze_dir, real_data_dir, prefix="", mat=True)
    _write_zip(root / "flat" / "MoAEpilot.zip", flat)
    incomplete = {k: v for k, v in good.items() if "fM00223_05" not in k}
    _write_zip(root / "incomplete" / "MoAEpilot.zip", incomplete)
    tampered = dict(good)
    img = bytearray(tampered["MoAEpilot/fM00223/fM00223_042.img"])
    img[len(img) // 2] ^= 0x01
    tampered["MoAEpilot/fM00223/fM00223_042.img"] = bytes(img)
    _write_zip(root / "tampered" / "MoAEpilot.zip", tampered)
    (root / "notzip").mkdir()
    (root / "notzip" / "MoAEpilot.zip").write_bytes(b"<html>Moved</html>\n" * 100)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format, *args):  # keep test output quiet
            pass

        def do_GET(self):
            if not self.path.startswith("/truncated/"):
                return super().do_GET()
            payload = (root / "good" / "MoAEpilot.zip").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


# --------------------------------------------------------------------------- manifest


def test_manifest_copies_are_identical():
    source = (REPO_ROOT / "data_manifests" / "spm_auditory.json").read_bytes()
    shipped = (REPO_ROOT / "refglm" / "datasets" / "data" / "spm_auditory.json").read_bytes()
    assert source == shipped, "run python data_manifests/make_manifest.py"
    assert load_spm_auditory_manifest() == json.loads(source)


def test_manifest_is_up_to_date_and_matches_sha256sums(real_data_dir):
    spec = importlib.util.spec_from_file_location(
        "make_manifest", REPO_ROOT / "data_manifests" / "make_manifest.py"
    )
    make_manifest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_manifest)
    if real_data_dir.resolve() == DEFAULT_REAL_DATA.resolve():
        # build_manifest cross-checks every file against SHA256SUMS.
        text = make_manifest.render(make_manifest.build_manifest(real_data_dir))
        assert text == (REPO_ROOT / "data_manifests" / "spm_auditory.json").read_text("utf-8")
    manifest = load_spm_auditory_manifest()
    sums = {}
    for line in (real_data_dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.removeprefix("./")] = digest
    assert manifest["files"] == sums
    assert len(manifest["volumes"]) == 96
    assert "content_hash_definition" in manifest


def test_events_text_matches_shared_file_byte_for_byte(real_data_dir):
    shared = (real_data_dir / FUNC / _data_layout.EVENTS_NAME).read_bytes()
    assert datasets.spm_auditory_events_text().encode("utf-8") == shared


def test_content_hash_is_layout_independent():
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    expected = hashlib.sha256(data.astype("<f8").tobytes(order="C")).hexdigest()
    assert volume_content_hash(data) == expected
    assert volume_content_hash(np.asfortranarray(data.astype(">f8"))) == expected


# --------------------------------------------------------------------------- lookup


def _check_bunch(bunch, root: Path):
    assert isinstance(bunch, Bunch)
    assert len(bunch.func) == 96
    names = [Path(p).name for p in bunch.func]
    assert names == [f"fM00223_{i:03d}.img" for i in range(4, 100)]
    assert all(isinstance(p, str) and Path(p).is_file() for p in bunch.func)
    assert Path(bunch.events) == root.absolute() / FUNC / "fM00223_events.tsv"
    assert bunch.t_r == 7.0 and bunch["t_r"] == 7.0
    assert Path(bunch.data_dir) == root.absolute()


def test_fetch_via_argument(real_data_dir, tmp_path):
    bunch = fetch_spm_auditory(real_data_dir, cache_dir=tmp_path / "cache")
    _check_bunch(bunch, real_data_dir)
    assert not (tmp_path / "cache").exists()  # neither the cache nor the network was touched


def test_fetch_via_env(real_data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("REFGLM_DATA_DIR", str(real_data_dir))
    _check_bunch(fetch_spm_auditory(), real_data_dir)
    assert not (tmp_path / "default-cache").exists()


def test_argument_takes_precedence_over_env(real_data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("REFGLM_DATA_DIR", str(tmp_path))
    _check_bunch(fetch_spm_auditory(real_data_dir), real_data_dir)


def test_relative_env_is_read_against_the_working_directory(real_data_dir, monkeypatch, tmp_path):
    """CI sets REFGLM_DATA_DIR=../shared/...: relative to where refglm runs, not to the package."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REFGLM_DATA_DIR", os.path.relpath(real_data_dir, tmp_path))
    bunch = fetch_spm_auditory()
    _check_bunch(bunch, real_data_dir)
    assert Path(bunch.data_dir).is_absolute()


def test_wrong_relative_env_names_the_folder_it_looked_at(monkeypatch, tmp_path):
    """A relative path that misses says which absolute folder was looked at, and from where."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REFGLM_DATA_DIR", "../shared/data/spm_auditory")
    with pytest.raises(InputError) as excinfo:
        fetch_spm_auditory()
    message = str(excinfo.value)
    looked_at = os.path.abspath(tmp_path / "../shared/data/spm_auditory")
    assert "../shared/data/spm_auditory" in message
    assert f"working directory {tmp_path}" in message
    assert looked_at in message


@pytest.mark.parametrize("how", ["argument", "env"])
def test_missing_data_names_folder_and_fix(how, monkeypatch, tmp_path):
    empty = tmp_path / "nodata"
    empty.mkdir()
    if how == "env":
        monkeypatch.setenv("REFGLM_DATA_DIR", str(empty))
        call = fetch_spm_auditory
    else:

        def call():
            return fetch_spm_auditory(empty)

    with pytest.raises(InputError) as excinfo:
        call()
    message = str(excinfo.value)
    assert str(empty) in message
    assert "fM00223_004.hdr" in message and "193" in message
    assert "REFGLM_DATA_DIR" in message and "refglm fetch spm-auditory" in message
    assert not (tmp_path / "default-cache").exists()  # no download was attempted


def test_missing_folder_and_wrong_level(real_data_dir, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        fetch_spm_auditory(tmp_path / "absent")
    with pytest.raises(InputError, match="contains sub001"):
        fetch_spm_auditory(real_data_dir / "sub001")


# --------------------------------------------------------------------------- verification


def test_verify_real_data(real_data_dir):
    start = time.perf_counter()
    verify_spm_auditory(real_data_dir)
    elapsed = time.perf_counter() - start
    print(f"verify_spm_auditory on the real data: {elapsed:.3f} s")


def test_verify_detects_flipped_byte(real_data_dir, tmp_path):
    rel = f"{FUNC}/fM00223_010.img"
    copy = _mirror(real_data_dir, tmp_path / "copy", copies={rel})
    path = copy / rel
    payload = bytearray(path.read_bytes())
    payload[1_000_000] ^= 0x40
    path.write_bytes(bytes(payload))

    manifest = load_spm_auditory_manifest()
    data, _ = read_volume(path)
    found_content = volume_content_hash(data)
    with pytest.raises(DataIntegrityError) as excinfo:
        verify_spm_auditory(copy)
    message = str(excinfo.value)
    assert "fM00223_010.img" in message
    assert manifest["files"][rel] in message and _sha256(path) in message
    assert manifest["volumes"]["fM00223_010"]["content_sha256"] in message
    assert found_content in message
    assert "refglm fetch spm-auditory" in message and "delete" in message
    assert "1 file(s)" in message  # only the tampered volume is reported

    with pytest.raises(DataIntegrityError, match="fM00223_010.img"):
        fetch_spm_auditory(copy)
    assert len(fetch_spm_auditory(copy, verify=False).func) == 96


def test_verify_detects_truncated_volume(real_data_dir, tmp_path):
    rel = f"{FUNC}/fM00223_099.img"
    copy = _mirror(real_data_dir, tmp_path / "copy", copies={rel})
    (copy / rel).write_bytes((real_data_dir / rel).read_bytes()[:1000])
    with pytest.raises(DataIntegrityError, match=r"fM00223_099\.img.*could not be read"):
        verify_spm_auditory(copy)


def test_verify_detects_changed_affine(real_data_dir, tmp_path):
    rel = f"{FUNC}/fM00223_004.hdr"
    copy = _mirror(real_data_dir, tmp_path / "copy", copies={rel})
    header = nib.Nifti1Pair.from_filename(str(real_data_dir / rel)).header.copy()
    affine = header.get_best_affine()
    affine[0, 3] += 0.5
    header.set_sform(affine, code="aligned")
    (copy / rel).write_bytes(header.binaryblock)
    with pytest.raises(DataIntegrityError, match=r"fM00223_004\.img: affine differs .* 0\.5"):
        verify_spm_auditory(copy)


def test_verify_accepts_cosmetic_header_change(real_data_dir, tmp_path):
    """A header edit that changes neither voxels nor affine passes on the content hash."""
    rel = f"{FUNC}/fM00223_004.hdr"
    copy = _mirror(real_data_dir, tmp_path / "copy", copies={rel})
    header = nib.Nifti1Pair.from_filename(str(real_data_dir / rel)).header.copy()
    header["descrip"] = b"edited"
    (copy / rel).write_bytes(header.binaryblock)
    assert _sha256(copy / rel) != _sha256(real_data_dir / rel)
    verify_spm_auditory(copy)


def test_verify_events(real_data_dir, tmp_path):
    rel = f"{FUNC}/{_data_layout.EVENTS_NAME}"
    copy = _mirror(real_data_dir, tmp_path / "copy", copies={rel})
    text = datasets.spm_auditory_events_text()
    (copy / rel).write_bytes(text.replace("\n", "\r\n").encode())  # same table, CRLF
    verify_spm_auditory(copy)
    (copy / rel).write_text(text.replace("630.0\t42.0\tactive", "630.0\t42.0\trest"))
    with pytest.raises(DataIntegrityError, match="fM00223_events.tsv: expected sha256"):
        verify_spm_auditory(copy)


def test_original_analyze_volumes_verify(analyze_dir, real_data_dir, tmp_path):
    """The zip's format (int16 Analyze, (64, 64, 64, 1)) verifies on content hashes."""
    func = tmp_path / "analyze" / FUNC
    func.mkdir(parents=True)
    for stem in _data_layout.FUNC_STEMS:
        for ext in ("hdr", "img"):
            (func / f"{stem}.{ext}").symlink_to(analyze_dir / f"{stem}.{ext}")
    shutil.copyfile(
        real_data_dir / FUNC / _data_layout.EVENTS_NAME, func / _data_layout.EVENTS_NAME
    )
    img = nib.load(str(func / "fM00223_004.img"))
    assert img.shape == (64, 64, 64, 1) and img.get_data_dtype() == np.int16
    assert _sha256(func / "fM00223_004.img") != _sha256(real_data_dir / FUNC / "fM00223_004.img")
    verify_spm_auditory(tmp_path / "analyze")


def test_plain_analyze_loses_the_origin(real_data_dir, tmp_path):
    """Plain Analyze has no origin field: the affine moves by 1.5 mm and 28.5 mm."""
    rel = f"{FUNC}/fM00223_004.img"
    copy = _mirror(real_data_dir, tmp_path / "copy")
    data, affine = read_volume(real_data_dir / rel)
    for ext in ("hdr", "img"):
        (copy / rel).with_suffix(f".{ext}").unlink()
    nib.save(nib.AnalyzeImage(data.astype(np.int16)[..., None], affine), str(copy / rel))
    with pytest.raises(
        DataIntegrityError, match=r"affine differs from the manifest's by up to 28\.5"
    ):
        verify_spm_auditory(copy)


# --------------------------------------------------------------------------- download


@pytest.mark.parametrize("variant", ["good", "flat"])
def test_download_and_normalise(variant, served, real_data_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    url = f"{served}/{variant}/MoAEpilot.zip"
    if variant == "good":
        bunch = fetch_spm_auditory(url=url, cache_dir=cache)
    else:  # the same through the environment variables
        monkeypatch.setenv("REFGLM_CACHE_DIR", str(cache))
        monkeypatch.setenv("REFGLM_SPM_AUDITORY_URL", url)
        bunch = fetch_spm_auditory()
    root = cache / "spm_auditory"
    _check_bunch(bunch, root)
    assert _leftovers(cache) == ["spm_auditory"]  # no partial folder, no zip

    for path in bunch.func[:3] + bunch.func[-1:]:
        img = nib.load(path)
        assert isinstance(img, nib.Nifti1Pair) and img.shape == (64, 64, 64)
    events = (real_data_dir / FUNC / _data_layout.EVENTS_NAME).read_bytes()
    assert Path(bunch.events).read_bytes() == events
    # Normalised exactly as nistats did: byte-identical to the shared copy.
    manifest = load_spm_auditory_manifest()
    for rel in _data_layout.required_files():
        assert _sha256(root / rel) == manifest["files"][rel], rel
    assert (root / "sub001" / "README.txt").read_bytes() == (
        real_data_dir / "sub001" / "README.txt"
    ).read_bytes()
    verify_spm_auditory(root)

    # A later call uses the cache and does not download again.
    again = fetch_spm_auditory(url=UNREACHABLE_URL, cache_dir=cache)
    assert again == bunch


def _assert_nothing_trusted(cache: Path):
    assert _leftovers(cache) == []
    with pytest.raises(InputError, match="download of the SPM auditory data failed"):
        fetch_spm_auditory(url=UNREACHABLE_URL, cache_dir=cache)
    assert _leftovers(cache) == []


def test_interrupted_download(served, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(InputError) as excinfo:
        fetch_spm_auditory(url=f"{served}/truncated/MoAEpilot.zip", cache_dir=cache)
    message = str(excinfo.value)
    assert "download of the SPM auditory data failed" in message
    assert "/truncated/MoAEpilot.zip" in message and "REFGLM_SPM_AUDITORY_URL" in message
    _assert_nothing_trusted(cache)


def test_not_a_zip(served, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataIntegrityError, match="not a readable zip archive"):
        fetch_spm_auditory(url=f"{served}/notzip/MoAEpilot.zip", cache_dir=cache)
    _assert_nothing_trusted(cache)


def test_zip_missing_files(served, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataIntegrityError) as excinfo:
        fetch_spm_auditory(url=f"{served}/incomplete/MoAEpilot.zip", cache_dir=cache)
    message = str(excinfo.value)
    assert "20 are missing" in message and "fM00223_050.hdr" in message
    _assert_nothing_trusted(cache)


def test_zip_with_tampered_volume(served, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataIntegrityError) as excinfo:
        fetch_spm_auditory(url=f"{served}/tampered/MoAEpilot.zip", cache_dir=cache)
    message = str(excinfo.value)
    expected = load_spm_auditory_manifest()["volumes"]["fM00223_042"]["content_sha256"]
    assert "MoAEpilot/fM00223/fM00223_042.img" in message and expected in message
    assert "nothing was saved" in message
    _assert_nothing_trusted(cache)


def test_interrupted_normalisation(served, tmp_path, monkeypatch):
    """Killed half-way through writing volumes: no folder is left that a later call trusts."""
    cache = tmp_path / "cache"
    written = []
    real_writer = io.write_nifti_pair

    def writer(data, affine, path):
        if len(written) == 40:
            raise KeyboardInterrupt
        written.append(path)
        real_writer(data, affine, path)

    monkeypatch.setattr(io, "write_nifti_pair", writer)
    with pytest.raises(KeyboardInterrupt):
        fetch_spm_auditory(url=f"{served}/good/MoAEpilot.zip", cache_dir=cache)
    assert len(written) == 40
    _assert_nothing_trusted(cache)


def test_incomplete_cache_folder_is_not_overwritten(served, tmp_path):
    cache = tmp_path / "cache"
    stale = cache / "spm_auditory" / FUNC
    stale.mkdir(parents=True)
    (stale / "fM00223_004.img").write_bytes(b"stale")
    with pytest.raises(InputError, match="Delete it"):
        fetch_spm_auditory(url=f"{served}/good/MoAEpilot.zip", cache_dir=cache)
    assert (stale / "fM00223_004.img").read_bytes() == b"stale"
    assert _leftovers(cache) == ["spm_auditory"]
