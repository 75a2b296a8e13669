"""Unpack the MoAEpilot archive as nistats did, checking every volume on the way.

The functional volumes ``fM00223_004..099.{hdr,img}`` of ``MoAEpilot.zip``
(wherever they lie in the archive) are read, checked against the manifest on
their content hash, shape and affine (:mod:`refglm.datasets.verify`), and written as
3-D NIfTI pairs under ``sub001/fM00223/`` beside the events table, as the
nistats fetcher left them.

Affines of the original Analyze files come from nibabel's SPM Analyze
loader: the SPM ``origin`` header field, or a ``<stem>.mat`` sidecar when the
archive has one (it is unpacked beside its volume, as nistats' unpacking
did). Plain Analyze without either yields an affine off by 1.5 to 28.5 mm,
which verification rejects.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from refglm import io
from refglm.datasets.layout import (
    ENV_URL,
    EVENTS_NAME,
    FUNC_STEMS,
    FUNC_SUBDIR,
    abbreviate,
    spm_auditory_events_text,
)
from refglm.datasets.verify import (
    _integrity_error,
    _read_checked_volume,
    load_spm_auditory_manifest,
)
from refglm.exceptions import DataIntegrityError

_VOLUME_MEMBER = re.compile(r"^(fM00223_\d{3})\.(hdr|img)$")
_MAX_MEMBER_BYTES = 64 * 2**20  # a volume is 0.5-2 MiB; refuse absurd archive members


def _archive_members(zf: zipfile.ZipFile, label: str) -> dict[str, zipfile.ZipInfo]:
    """Map ``fM00223_0NN.{hdr,img}`` to archive members, wherever they lie in the archive."""
    wanted = {f"{stem}.{ext}" for stem in FUNC_STEMS for ext in ("hdr", "img")}
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
        if not _VOLUME_MEMBER.match(name) or name not in wanted:
            continue
        if name in members:
            raise DataIntegrityError(
                f"{label}: the archive holds {name} twice ({members[name].filename} and "
                f"{info.filename}); expected one copy of each functional volume. "
                f"Check the URL (${ENV_URL})."
            )
        members[name] = info
    missing = sorted(wanted - members.keys())
    if missing:
        raise DataIntegrityError(
            f"{label}: expected the 192 files fM00223_004..099.{{hdr,img}} in the archive, "
            f"but {len(missing)} are missing: {abbreviate(missing)}. The archive is "
            f"incomplete or is not the MoAEpilot data; check the URL (${ENV_URL}) and "
            "run `refglm fetch spm-auditory` again."
        )
    return members


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> bytes:
    """Read one archive member, turning corruption into DataIntegrityError."""
    if info.file_size > _MAX_MEMBER_BYTES:
        raise DataIntegrityError(
            f"{label}: member {info.filename} claims {info.file_size} bytes, more than any "
            f"file of the MoAEpilot data; check the URL (${ENV_URL})."
        )
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DataIntegrityError(
            f"{label}: member {info.filename} could not be extracted ({exc}); the archive "
            "is corrupt. Run `refglm fetch spm-auditory` again."
        ) from exc


def _mat_member(zf: zipfile.ZipFile, img: zipfile.ZipInfo) -> zipfile.ZipInfo | None:
    """The SPM ``.mat`` sidecar of ``img`` (same folder, same stem), if the archive has one.

    SPM99 may keep a volume's voxel-to-world matrix in ``<stem>.mat``;
    nibabel's SPM Analyze loader then takes the affine from it, as it did
    when nistats loaded the unpacked archive.
    """
    name = img.filename[: -len(".img")] + ".mat"
    try:
        return zf.getinfo(name)
    except KeyError:
        return None


def _readme_member(zf: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    readmes = [
        info
        for info in zf.infolist()
        if info.filename.replace("\\", "/").rsplit("/", 1)[-1] == "README.txt"
    ]
    readmes.sort(key=lambda info: info.filename.count("/"))
    return readmes[0] if readmes else None


def _normalise_archive(archive: Path, out: Path, scratch: Path, label: str) -> None:
    """Unpack the volumes of ``archive`` into ``out`` as nistats did, checking each one."""
    manifest = load_spm_auditory_manifest()
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataIntegrityError(
            f"{label}: the download is not a readable zip archive ({exc}); it is "
            f"truncated, or the URL serves something else. Check the URL (${ENV_URL}) "
            "and run `refglm fetch spm-auditory` again."
        ) from exc
    func_dir = out / FUNC_SUBDIR
    func_dir.mkdir(parents=True)
    scratch.mkdir(parents=True, exist_ok=True)
    problems = []
    with zf:
        members = _archive_members(zf, label)
        for stem in FUNC_STEMS:
            sources = {ext: members[f"{stem}.{ext}"] for ext in ("hdr", "img")}
            mat = _mat_member(zf, sources["img"])
            if mat is not None:
                sources["mat"] = mat
            raw = {ext: scratch / f"{stem}.{ext}" for ext in sources}
            for ext, path in raw.items():
                path.write_bytes(_read_member(zf, sources[ext], label))
            display = f"{sources['img'].filename} (in {label})"
            problem, data, affine = _read_checked_volume(raw["img"], stem, manifest, display)
            if problem is not None:
                problems.append(problem)
                continue
            io.write_nifti_pair(data, affine, func_dir / f"{stem}.img")
            for path in raw.values():
                path.unlink()
        readme = _readme_member(zf)
        if readme is not None:
            (out / "sub001" / "README.txt").write_bytes(_read_member(zf, readme, label))
    if problems:
        raise _integrity_error(
            label,
            problems,
            hint=(
                "The downloaded volumes are not the SPM auditory data refglm expects; "
                f"nothing was saved. Check the URL (${ENV_URL})."
            ),
        )
    (func_dir / EVENTS_NAME).write_bytes(spm_auditory_events_text().encode("utf-8"))
