"""Input files looked at before they are read: what they are, and how much of them.

Every file refglm reads is first looked at with ``os.stat`` (:func:`check_input_file`):
it must be a regular file. A folder, a named pipe (FIFO), a device or a socket given
where a file is expected is named as what it is, and so are a symbolic link loop
(``too many levels of symbolic links``), a broken link and a missing file; nothing is
opened before that, so a FIFO cannot block and ``/dev/zero`` cannot be read forever.

Text inputs (JSON sidecars, events tables) are read with a bound stated beforehand
(:func:`read_bytes_bounded`): the size must be at most the limit (:data:`MAX_JSON_BYTES`,
:data:`MAX_TSV_BYTES`), and at most the limit plus one byte is read, so that a file
that grows while it is read, or a special file that reports no size, is refused too.
JSON is parsed with a bounded nesting depth (:func:`load_json_bounded`,
:data:`MAX_JSON_DEPTH`): Python's parser recurses once per level.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from pathlib import Path

from refglm.exceptions import InputError

__all__ = [
    "check_input_file",
    "read_bytes_bounded",
    "load_json_bounded",
    "file_kind",
    "json_nesting_depth",
    "repeated_files",
    "MAX_JSON_BYTES",
    "MAX_TSV_BYTES",
    "MAX_JSON_DEPTH",
]

#: Largest JSON sidecar read (BIDS sidecars are a few kB; 8 MiB leaves room for any).
MAX_JSON_BYTES = 8 * 2**20
#: Largest events table read (64 MiB: about a million events).
MAX_TSV_BYTES = 64 * 2**20
#: Deepest nesting of arrays and objects in a JSON file (BIDS metadata nest 2 or 3).
MAX_JSON_DEPTH = 64

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` is, as a message says it: ``'a folder'``, ``'a FIFO'``..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a special file"


def _size_words(n: int) -> str:
    """``'1048576 bytes (1 MiB)'``: exact, and readable."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n} bytes ({n / scale:.3g} {unit})"
    return f"{n} bytes"


def _missing_words(path: Path, exc: OSError) -> str:
    """What ``os.stat`` failing with ``exc`` means for ``path``, as a 'found' phrase."""
    code = exc.errno
    if code == errno.ELOOP:
        return "a symbolic link loop (too many levels of symbolic links)"
    if code == errno.ENOENT:
        if os.path.islink(path):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"a broken symbolic link (to {target}, which does not exist)"
        return "no such file (file not found)"
    if code == errno.ENOTDIR:
        return "a path through a file, not a folder (no such file)"
    if code in (errno.EACCES, errno.EPERM):
        return "no permission to look at it (or at a folder on its path)"
    if code == errno.ENAMETOOLONG:
        return "a name too long for the system"
    return f"a path the system refuses ({exc.strerror or exc})"


def why_not_found(path) -> str | None:
    """Why ``path`` cannot be looked at, as a 'found' phrase (``'a symbolic link loop (too many
    levels of symbolic links)'``, ``'no such file (file not found)'``, ...), or None
    when ``os.stat`` succeeds."""
    path = Path(path)
    try:
        os.stat(path)
    except OSError as exc:
        return _missing_words(path, exc)
    except ValueError as exc:
        return f"an invalid path ({exc})"
    return None


def check_input_file(path, expected: str, fix: str) -> os.stat_result:
    """Check that ``path`` is a regular file (links followed); return its ``os.stat``.

    Raises
    ------
    InputError
        ``<path>: expected <expected>, found <what it is>; <fix>``, for a missing
        file, a broken link, a symbolic link loop, a folder, a FIFO, a device or a
        socket.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(
            f"{path}: expected {expected}, found {_missing_words(path, exc)}; {fix}"
        ) from None
    except ValueError as exc:  # an embedded NUL byte
        raise InputError(
            f"{path!r}: expected {expected}, found an invalid path ({exc}); {fix}"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: expected {expected}, found {file_kind(info.st_mode)}; {fix}")
    return info


def read_bytes_bounded(path, expected: str, limit: int, fix: str) -> bytes:
    """The bytes of the regular file ``path``, refused beyond ``limit`` bytes.

    The file is checked (:func:`check_input_file`), opened without blocking (a
    FIFO swapped in after the check is refused, not waited on), checked again
    on the open file, and read to at most ``limit + 1`` bytes.

    Raises
    ------
    InputError
        Naming the file and the limit, for a file over the limit; as
        :func:`check_input_file` otherwise, or when the file cannot be read.
    """
    path = Path(path)
    check_input_file(path, expected, fix)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(
            f"{path}: expected {expected}, found a file that cannot be opened "
            f"({exc.strerror or exc}); check its permissions. {fix}"
        ) from None
    with os.fdopen(fd, "rb", buffering=0) as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: expected {expected}, found {file_kind(info.st_mode)}; {fix}")
        if info.st_size > limit:
            raise _too_large(path, expected, limit, info.st_size)
        chunks, total = [], 0
        try:
            while total <= limit:
                chunk = fh.read(min(1 << 20, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        except OSError as exc:
            raise InputError(
                f"{path}: expected {expected}, found a file that cannot be read "
                f"({exc.strerror or exc}); check the file and its disk."
            ) from None
    if total > limit:
        raise _too_large(path, expected, limit, None)
    return b"".join(chunks)


def _too_large(path: Path, expected: str, limit: int, size: int | None) -> InputError:
    found = f"{_size_words(size)}" if size is not None else "more than that (it grew while read)"
    return InputError(
        f"{path}: expected {expected} of at most {_size_words(limit)} (refglm's limit for "
        f"such files), found {found}; pass the right file, or trim it."
    )


# A JSON string (escapes included), and everything that is not a bracket.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_nesting_depth(text: str, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (brackets in strings ignored).

    Counting stops once the depth exceeds ``stop_above``. Linear in the text, no recursion.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub('""', text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


def load_json_bounded(
    path,
    expected: str = "a JSON file",
    limit: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
    fix: str = "fix the file.",
):
    """Parse the JSON file ``path``: a regular file of at most ``limit`` bytes, nested at
    most ``max_depth`` levels.

    Raises
    ------
    InputError
        Naming the file and the limit that was passed, or the parse error.
    """
    path = Path(path)
    raw = read_bytes_bounded(path, expected, limit, fix)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: expected {expected} in UTF-8, found undecodable bytes ({exc.reason} at "
            f"byte {exc.start}); save it as UTF-8."
        ) from None
    depth = json_nesting_depth(text, stop_above=max_depth)
    if depth > max_depth:
        raise InputError(
            f"{path}: expected {expected} nested at most {max_depth} levels deep (refglm's "
            f"limit), found more than {max_depth} levels of arrays or objects; {fix}"
        )
    try:
        return json.loads(text)
    except RecursionError:  # not expected after the depth check; never an internal error
        raise InputError(
            f"{path}: expected {expected} nested at most {max_depth} levels deep, found one "
            f"too deep to parse; {fix}"
        ) from None
    except ValueError as exc:  # JSONDecodeError, and ints beyond Python's digit limit
        raise InputError(
            f"{path}: expected {expected}, found text that is not valid JSON ({exc}); {fix}"
        ) from None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _content_key(path: Path) -> tuple | None:
    """Size and sha256 of ``path`` (with its ``.img`` for a ``.hdr``), read in chunks."""
    parts = [path]
    if path.suffix.lower() == ".hdr":
        parts.append(path.with_suffix(".IMG" if path.suffix == ".HDR" else ".img"))
    key = []
    for part in parts:
        if _identity(part) is None:
            return None
        try:
            with open(part, "rb") as fh:
                key.append(hashlib.file_digest(fh, "sha256").hexdigest())
            key.append(os.path.getsize(part))
        except OSError:
            return None
    return tuple(key)


def repeated_files(paths) -> list[tuple[int, int, str]]:
    """Pairs of positions (0-based) in ``paths`` that give the same file, or identical files.

    Returns ``[(first, later, how), ...]``, ``how`` being ``'the same file'``
    (one file named twice: the same path, a symbolic or hard link to it) or
    ``'identical content'`` (two files of the same bytes: a copy). Paths that
    are not regular files are skipped (their readers report them). Files are
    compared by size first and hashed only when sizes agree, in chunks.
    """
    paths = [Path(p) for p in paths]
    found: list[tuple[int, int, str]] = []
    seen: dict[tuple[int, int], int] = {}
    distinct: list[int] = []
    for k, path in enumerate(paths):
        identity = _identity(path)
        if identity is None:
            continue
        if identity in seen:
            found.append((seen[identity], k, "the same file"))
            continue
        seen[identity] = k
        distinct.append(k)
    by_size: dict[int, list[int]] = {}
    for k in distinct:
        try:
            by_size.setdefault(os.path.getsize(paths[k]), []).append(k)
        except OSError:
            continue
    for group in by_size.values():
        if len(group) < 2:
            continue
        first_of: dict[tuple, int] = {}
        for k in group:
            key = _content_key(paths[k])
            if key is None:
                continue
            if key in first_of:
                found.append((first_of[key], k, "identical content"))
            else:
                first_of[key] = k
    return sorted(found, key=lambda item: (item[1], item[0]))
