"""What every command's parser shares: one parser style, typed options, the shared flags.

- :class:`Parser` reports bad usage as ``InputError`` (exit 2, one line) and
  :class:`Formatter` prints examples as written;
- value types that say what was expected (:func:`number`, :func:`choice`);
  options with a fixed set of values list them in ``--help`` and refuse any other;
- the flags several commands take (:func:`add_data_dir`, :func:`add_engine`,
  :func:`add_convention`, :func:`add_n_jobs`, :func:`add_scheduler`, :func:`add_debug`);
- :func:`parse_contrast` (the ``--contrast`` syntax) and :func:`dask_backend`
  (``--scheduler``).

The accepted values come from the library (``refglm.glm.engines``, the design
modules, ``refglm.conventions``), whose modules load without scipy, pandas or
statsmodels, so that ``refglm --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os

from refglm.conventions import CONVENTIONS, DEFAULT_CONVENTION
from refglm.exceptions import InputError
from refglm.glm.engines import ENGINE_NAMES, noise_order
from refglm.io.derivative_names import MAX_CONTRAST_NAME_BYTES, camel_case_contrast_name

__all__ = [
    "Parser",
    "Formatter",
    "number",
    "choice",
    "braced",
    "names",
    "add_data_dir",
    "add_engine",
    "add_convention",
    "convention_name",
    "CONVENTION_METAVAR",
    "add_n_jobs",
    "add_scheduler",
    "add_debug",
    "add_noise_model",
    "add_spm12_options",
    "spm12_options",
    "parse_contrast",
    "dask_backend",
    "engine_note",
    "workers",
    "STATSMODELS_OVER_VECTORIZED",
]


class Formatter(argparse.HelpFormatter):
    """Wrap descriptions to the terminal; print examples (and the epilog) as written.

    An on/off flag whose help does not say its default gets ``(default: off)``, so
    that every option of every command states its default in ``--help``.
    """

    def _fill_text(self, text, width, indent):
        if text.startswith("example") or "\n" in text:  # one runnable command a line
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            isinstance(action, argparse._StoreTrueAction)
            and action.option_strings
            and "default" not in text
        ):
            text += " (default: off)"
        return text


class Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as InputError (exit 2, one line).

    The message names the command (``fit: the following arguments are required:
    --out``), not the program: ``refglm.cli.main`` prefixes every error with
    ``refglm: error:`` already.
    """

    def error(self, message):
        command = self.prog.removeprefix("refglm").strip()
        raise InputError(f"{command}: {message}" if command else message)


def number(kind, what: str, example: str, nonzero: bool = False):
    """An argparse ``type`` that parses ``kind`` and says what was expected on failure."""

    def parse(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"expected {what}, found {text!r}; pass e.g. {example}"
            ) from None
        if nonzero and value == 0:
            raise argparse.ArgumentTypeError(
                f"expected {what}, found {text!r}; pass e.g. {example}"
            )
        return value

    parse.__name__ = kind.__name__
    return parse


def names(values) -> str:
    """``values`` as --help lists them: ``'spm', 'glover', none``."""
    return ", ".join("none" if v is None else repr(v) for v in values)


def choice(values, field: str):
    """An argparse ``type`` for one of ``values``: case-insensitive, ``none`` for None.

    A bad value is refused as ``argument --flag: expected one of ..., found
    'x' (<field>)``, ``field`` naming the parameter the value is passed to.
    """

    def parse(text):
        key = str(text).strip().lower()
        for value in values:
            if key == ("none" if value is None else value):
                return value
        raise argparse.ArgumentTypeError(
            f"expected one of {names(values)}, found {text!r} ({field})"
        )

    parse.__name__ = "choice"
    parse.values = tuple(values)  # what --help must list (tests/cli/test_options.py)
    return parse


def braced(values) -> str:
    """The metavar that lists ``values`` in the usage line: ``{a,b}``."""
    return "{" + ",".join(values) + "}"


def add_data_dir(p, help_text: str | None = None):
    p.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help=help_text
        or "the SPM auditory dataset folder, DIR/sub001/fM00223/... (default: "
        "$REFGLM_DATA_DIR, then the refglm cache's spm_auditory folder, downloaded into it "
        "when missing; see refglm fetch --help)",
    )


def add_engine(p):
    p.add_argument(
        "--engine",
        default=ENGINE_NAMES[0],
        type=choice(ENGINE_NAMES, "FirstLevelModel engine"),
        metavar=braced(ENGINE_NAMES),
        help=f"fit engine: statsmodels fits voxel by voxel with statsmodels (the reference), "
        f"vectorized gives the same numbers within 1e-10 in batched numpy, about "
        f"{STATSMODELS_OVER_VECTORIZED:g} times faster on one worker (default: "
        f"{ENGINE_NAMES[0]})",
    )


#: How many times longer the statsmodels engine's fit takes than the vectorized engine's,
#: with one worker: the lower end of what was measured on the SPM auditory run
#: (``refglm fit --hrf-model spm``, 62073 voxels, 96 scans, the fit's time as printed, load
#: included, on a shared 2-core VM): 14.45 s against 0.56 s (26 times, docs/performance.md,
#: load average about 4), 53.7 s against 0.95 s (56 times, load average 2.5 to 4.8, the two
#: engines run in turn). Both engines are linear in voxels (docs/performance.md), so the
#: ratio carries over to other runs; taking its lower end keeps the estimate of the faster
#: engine's time from promising too much.
STATSMODELS_OVER_VECTORIZED = 25


def workers(n_jobs) -> int:
    """The joblib workers ``--n-jobs`` gives on this machine (-1: every CPU, -2: all but one)."""
    cpus = os.cpu_count() or 1
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        return max(cpus + 1 + n_jobs, 1)
    return max(min(n_jobs, cpus), 1)


def engine_note(engine: str, seconds: float, n_jobs=1, backend=None) -> str:
    """What the fit cost, said in the summary line: ``fit 73.0 s (statsmodels reference ...)``.

    For the statsmodels engine, the vectorized engine's time on the same run is
    estimated as this fit's time times its workers (``--n-jobs``), divided by
    :data:`STATSMODELS_OVER_VECTORIZED` (the measured ratio with one worker; the workers
    do not speed the vectorized engine up). On a Dask cluster (``--scheduler``) the
    workers are unknown and no estimate is given.
    """
    if engine == "vectorized":
        return (
            f"fit {seconds:.1f} s (vectorized engine; the default, the statsmodels reference "
            "engine, gives the same numbers within 1e-10)"
        )
    if engine != "statsmodels":
        return f"fit {seconds:.1f} s ({engine} engine)"
    if backend is not None:
        return (
            f"fit {seconds:.1f} s (statsmodels reference engine on {backend}; `--engine "
            "vectorized` gives the same numbers within 1e-10)"
        )
    estimate = seconds * workers(n_jobs) / STATSMODELS_OVER_VECTORIZED
    return (
        f"fit {seconds:.1f} s (statsmodels reference engine; `--engine vectorized` gives the "
        f"same numbers within 1e-10 in ~{estimate:.2g} s)"
    )


def add_noise_model(p):
    """``--noise-model``: ``ols`` or ``arN`` (N >= 1), nilearn's ``noise_model``."""

    def parse(text):
        key = str(text).strip().lower()
        try:
            noise_order(key)
        except InputError:
            raise argparse.ArgumentTypeError(
                f"expected 'ols' or 'arN' with N a whole number >= 1 (ar1, ar2, ...), found "
                f"{text!r} (FirstLevelModel noise_model)"
            ) from None
        return key

    parse.__name__ = "noise model"
    p.add_argument(
        "--noise-model",
        default="ar1",
        type=parse,
        metavar="MODEL",
        help="'ols', 'ar1' or 'arN': an AR(N) noise model, N >= 1, as nilearn's noise_model "
        "(default: 'ar1')",
    )


#: The metavar of every ``--convention``: a name, optionally with changed choices.
CONVENTION_METAVAR = "NAME[+CHOICE=VALUE...]"


def convention_name(text) -> str:
    """An argparse ``type`` for ``--convention``: a named convention or a flip of one.

    ``nilearn`` or ``nilearn+cov_pinv=statsmodels``, as ``refglm compare --explain``
    prints it (``refglm.conventions.get_convention`` reads it); the base name is read
    case-insensitively. Returns the convention's canonical name.
    """
    from refglm.conventions import get_convention

    key = str(text).strip()
    base, plus, rest = key.partition("+")
    if base.lower() in CONVENTIONS:
        key = base.lower() + plus + rest
    else:
        raise argparse.ArgumentTypeError(
            f"expected one of {names(CONVENTIONS)}, found {text!r} "
            "(refglm.conventions.CONVENTIONS), optionally followed by changed choices, "
            "name+choice=value, as compare --explain prints them"
        )
    try:
        return get_convention(key).name
    except InputError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


convention_name.values = tuple(CONVENTIONS)  # what --help must list


def add_convention(p, default=DEFAULT_CONVENTION, default_text=None):
    """``--convention``: a named convention or a flip of one (:func:`convention_name`)."""
    p.add_argument(
        "--convention",
        default=default,
        type=convention_name,
        metavar=CONVENTION_METAVAR,
        help=f"one of {', '.join(CONVENTIONS)}, optionally with changed choices as compare "
        f"--explain prints them, e.g. nilearn+ar_binning=round (default: "
        f"{default_text or default})",
    )


def add_n_jobs(p):
    p.add_argument(
        "--n-jobs",
        type=number(int, "a whole number of workers other than 0", "--n-jobs 2", nonzero=True),
        default=1,
        help="joblib workers (default: 1; -1: all CPUs)",
    )


def add_scheduler(p):
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the statsmodels engine's voxel chunks on this Dask scheduler "
        "(e.g. tcp://127.0.0.1:8786) through joblib's Dask backend; needs refglm[dask] "
        "(default: none, joblib's local workers)",
    )


def add_spm12_options(p):
    """SPM12's model options (``--convention spm12``): FirstLevelModel's parameters of them."""
    from refglm.glm.scaling import GLOBAL_NORMALIZATIONS

    g = p.add_argument_group("SPM12's options (with --convention spm12)")
    g.add_argument(
        "--oversampling",
        type=number(int, "a whole number of microtime bins", "--oversampling 16"),
        default=None,
        help="microtime bins per scan of the design (SPM's fmri_t; default: 50 nistats and "
        "nilearn, 16 spm12)",
    )
    g.add_argument(
        "--microtime-onset",
        type=number(int, "a whole 1-based microtime bin", "--microtime-onset 8"),
        default=None,
        help="SPM's fmri_t0: the 1-based microtime bin at which each scan is sampled "
        "(spm12 only; default 8)",
    )
    g.add_argument(
        "--global-normalization",
        type=choice(GLOBAL_NORMALIZATIONS, "FirstLevelModel global_normalization"),
        default=None,
        metavar="{none,scaling}",
        help="SPM's global normalisation: none (session grand-mean scaling, the default) or "
        "scaling (per scan); spm12 only",
    )
    g.add_argument(
        "--implicit-mask-threshold",
        type=number(float, "a fraction of each scan's global", "--implicit-mask-threshold 0.8"),
        default=None,
        help="SPM's mthresh: fraction of each scan's global a voxel must exceed in every scan "
        "(default 0.8); spm12 only. SPM's default high-pass is --high-pass 0.0078125 (128 s)",
    )


def spm12_options(args) -> dict:
    """The SPM12 options given on the command line, as FirstLevelModel keywords."""
    keys = ("oversampling", "microtime_onset", "global_normalization", "implicit_mask_threshold")
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def add_debug(p):
    p.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks on errors (default: off)",
    )


def parse_contrast(text: str) -> tuple[str, object]:
    """``NAME=EXPR`` or ``EXPR`` -> (BIDS name, definition); ``;`` separates F rows.

    Column names quoted in backticks may hold ``=`` and ``;`` (```a;b` - rest``).

    ``"active - rest"`` -> ``('activeMinusRest', 'active - rest')``;
    ``"effects=active; rest"`` -> ``('effects', ['active', 'rest'])``. A
    given NAME made only of letters and digits is kept as it is; any other
    name (or the expression, when no name is given) is cleaned by
    :func:`refglm.io.derivative_names.camel_case_contrast_name`.
    """
    text = str(text).strip()
    name, sep, expr = _split_unquoted(text, "=", 1)
    if not sep:
        name, expr = "", text
    name, expr = name.strip(), expr.strip()
    rows = [r.strip() for r in _split_unquoted(expr, ";")[::2]]
    if not expr or any(not r for r in rows):
        raise InputError(
            f"--contrast {text!r}: expected NAME=EXPR or EXPR, e.g. 'active - rest' or "
            "'effects=active; rest' (rows separated by ';' make an F test)."
        )
    definition = rows[0] if len(rows) == 1 else rows
    if name and name.isalnum() and name.isascii():
        bids_name = name
    else:
        bids_name = camel_case_contrast_name(name or expr.replace(";", " "))
    if len(bids_name.encode()) > MAX_CONTRAST_NAME_BYTES:
        raise InputError(
            f"--contrast {text[:40]!r}...: expected a contrast name of at most "
            f"{MAX_CONTRAST_NAME_BYTES} characters (it names the output files, and file "
            f"names are limited to 255 bytes), found {len(bids_name.encode())}; give a short "
            "name, e.g. --contrast 'effects=active; rest'."
        )
    return bids_name, definition


def _split_unquoted(text: str, separator: str, limit: int = -1) -> list[str]:
    """``text`` split at ``separator`` outside backticks: ``[piece, sep, piece, sep, ...]``.

    Backtick-quoted column names (```a;b``` or ```x=y```) may hold the separators.
    With ``limit`` 1 the result is ``[before, sep, after]`` (``sep`` empty when absent),
    as ``str.partition``.
    """
    pieces, current, quoted, splits = [], [], False, 0
    for char in text:
        if char == "`":
            quoted = not quoted
        if char == separator and not quoted and (limit < 0 or splits < limit):
            pieces += ["".join(current), separator]
            current, splits = [], splits + 1
            continue
        current.append(char)
    pieces.append("".join(current))
    if limit == 1 and len(pieces) == 1:
        return [pieces[0], "", ""]
    return pieces


@contextlib.contextmanager
def dask_backend(args):
    """Connect to ``--scheduler`` and yield the joblib backend name (or None)."""
    address = getattr(args, "scheduler", None)
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "--scheduler: expected the Dask extra, found no 'distributed' package; "
            "install it with pip install 'refglm[dask]'."
        ) from None
    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"--scheduler {address}: expected a reachable Dask scheduler, found "
            f"{exc.__class__.__name__}: {exc}; start one (dask scheduler) or drop --scheduler."
        ) from None
    with client:
        if args.n_jobs == 1:
            args.n_jobs = -1  # every worker of the cluster
        yield "dask"
