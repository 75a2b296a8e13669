"""How much memory this process may still allocate: the budget reads are checked against.

:func:`memory_budget` is the smallest of what the machine has available
(``MemAvailable`` in ``/proc/meminfo``), what an address-space or data-size limit
(``ulimit -v``, ``ulimit -d``: ``RLIMIT_AS``, ``RLIMIT_DATA``) leaves above what the
process already uses, and what its cgroup's ``memory.max`` leaves above its
``memory.current`` (containers, systemd slices). Each is read when asked, so that
the budget is the one in force when the read starts. Where none can be read (not
Linux), there is no budget and reads are not refused for their size.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["memory_budget"]


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _rlimit_headroom(name: str, used_field: str) -> int | None:
    try:
        import resource
    except ImportError:  # not Unix
        return None
    limit_id = getattr(resource, name, None)
    if limit_id is None:
        return None
    soft, _ = resource.getrlimit(limit_id)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    used = _status_kib(used_field)
    return soft - (used or 0)


def _cgroup_headroom() -> int | None:
    """``memory.max - memory.current`` of this process's cgroup (v2), and of its parents."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            entries = fh.read().splitlines()
    except OSError:
        return None
    relative = next((line[3:] for line in entries if line.startswith("0::")), None)
    if relative is None:
        return None
    root = Path("/sys/fs/cgroup")
    folder = root / relative.lstrip("/")
    best = None
    while True:
        try:
            limit = (folder / "memory.max").read_text().strip()
            current = int((folder / "memory.current").read_text().strip())
            if limit != "max":
                room = int(limit) - current
                best = room if best is None else min(best, room)
        except (OSError, ValueError):
            pass
        if folder == root or folder.parent == folder:
            break
        folder = folder.parent
    return best


def memory_budget() -> tuple[int | None, str]:
    """The bytes this process may still allocate, and what sets that number.

    Returns
    -------
    budget : int or None
        The smallest headroom found; None when no limit could be read.
    why : str
        What the budget is, for a message: ``'MemAvailable in /proc/meminfo'``,
        ``'the address-space limit (ulimit -v) less what the process maps'``, ...
    """
    candidates = [
        (_meminfo_available(), "the memory available on this machine (MemAvailable)"),
        (
            _rlimit_headroom("RLIMIT_AS", "VmSize"),
            "the address-space limit (ulimit -v) less what the process already maps",
        ),
        (
            _rlimit_headroom("RLIMIT_DATA", "VmData"),
            "the data-size limit (ulimit -d) less what the process already uses",
        ),
        (_cgroup_headroom(), "its cgroup's memory.max less its memory.current"),
    ]
    known = [(value, why) for value, why in candidates if value is not None]
    if not known:
        return None, "no memory limit could be read"
    return min(known, key=lambda item: item[0])
