"""Statistical maps for ``refglm compare``: read a file or a folder, pair two sets by name.

A folder contributes every map with a BIDS-derivative name,
``[...]contrast-<name>_stat-<kind>_statmap.nii[.gz]``; maps are keyed, and
paired, by ``(contrast, kind)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from refglm import io
from refglm.exceptions import InputError

__all__ = ["StatMap", "MAP_NAME", "load_maps", "pair_maps", "check_grids"]

#: BIDS-derivative map names: [entities_]contrast-<name>_stat-<kind>_statmap.nii[.gz]
MAP_NAME = re.compile(
    r"(?:^|_)contrast-(?P<contrast>[A-Za-z0-9]+)_stat-(?P<kind>[A-Za-z0-9]+)_statmap\.nii(?:\.gz)?$"
)


@dataclass
class StatMap:
    """One statistical map: its key ``(contrast, kind)``, data, affine and source."""

    contrast: str | None
    kind: str | None
    data: np.ndarray
    affine: np.ndarray
    source: str

    @property
    def key(self) -> tuple:
        return (self.contrast, self.kind)

    @property
    def name(self) -> str:
        if self.contrast is None:
            return Path(self.source).name
        return f"contrast-{self.contrast}_stat-{self.kind}"


def _parse_map_name(path: Path):
    match = MAP_NAME.search(path.name)
    if match is None:
        return None, None
    return match["contrast"], match["kind"]


def _read_map(path: Path, contrast, kind, role: str) -> StatMap:
    data, affine = io.image_data(path)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(
            f"{role} {path}: expected a 3-D statistical map, found shape {data.shape}; "
            "pass one volume per map."
        )
    return StatMap(contrast, kind, data, np.asarray(affine, dtype=np.float64), str(path))


def load_maps(path, role: str = "REFERENCE") -> dict:
    """The maps of a file or a folder, keyed by ``(contrast, kind)``.

    A folder contributes every file (searched recursively) whose name matches
    ``contrast-<name>_stat-<kind>_statmap.nii[.gz]``; a file is keyed by its
    name when it matches, else by ``(None, None)``.

    Raises
    ------
    InputError
        For a missing path, a folder without maps, or a map that is not 3-D.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{role} {path}: not found; expected a statistical map (.nii/.nii.gz) or a folder "
            "of BIDS-derivative maps named contrast-<name>_stat-<kind>_statmap.nii.gz."
        )
    if path.is_dir():
        found = {}
        for file in sorted(path.rglob("*statmap.nii*")):
            contrast, kind = _parse_map_name(file)
            if contrast is not None and (contrast, kind) not in found:
                found[(contrast, kind)] = _read_map(file, contrast, kind, role)
        if not found:
            raise InputError(
                f"{role} {path}: no statistical maps found; expected files named "
                "contrast-<name>_stat-<kind>_statmap.nii.gz (e.g. the output of `refglm "
                "tutorial`). Pass the folder that holds them, or one map file."
            )
        return found
    contrast, kind = _parse_map_name(path)
    stat_map = _read_map(path, contrast, kind, role)
    return {stat_map.key: stat_map}


def pair_maps(reference: dict, candidate: dict):
    """Pairs ``(key, reference map, candidate map)`` by name, and the unpaired keys.

    Two single maps are paired whatever their names.

    Raises
    ------
    InputError
        When no map pairs up.
    """
    if len(reference) == 1 and len(candidate) == 1:
        (key_a, map_a), (key_b, map_b) = (
            next(iter(reference.items())),
            next(iter(candidate.items())),
        )
        key = key_a if key_a != (None, None) else key_b
        return [(key, map_a, map_b)], [], []
    keys = [k for k in reference if k in candidate and k != (None, None)]
    if not keys:
        names_a = ", ".join(m.name for m in reference.values())
        names_b = ", ".join(m.name for m in candidate.values())
        raise InputError(
            f"maps: no map of REFERENCE ({names_a}) has the name of one of CANDIDATE "
            f"({names_b}); expected matching contrast-<name>_stat-<kind> names. Rename the "
            "files, or compare two single map files."
        )
    pairs = [(k, reference[k], candidate[k]) for k in keys]
    only_ref = [reference[k].name for k in reference if k not in candidate]
    only_cand = [candidate[k].name for k in candidate if k not in reference]
    return pairs, only_ref, only_cand


def check_grids(a: StatMap, b: StatMap) -> None:
    """Raise :class:`InputError` unless both maps share one grid (shape and affine)."""
    if a.data.shape != b.data.shape or not np.allclose(a.affine, b.affine, rtol=0, atol=1e-5):
        raise InputError(
            f"{b.name}: the candidate's grid (shape {b.data.shape}) differs from the "
            f"reference's (shape {a.data.shape}) or their affines differ; expected maps on "
            "one grid. Resample the candidate to the reference (e.g. nilearn.image."
            "resample_to_img) before comparing."
        )
