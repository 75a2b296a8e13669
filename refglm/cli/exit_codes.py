"""The exit codes of every ``refglm`` command, one set.

==========  ==========================================================================
code        meaning
==========  ==========================================================================
0           ok (``compare``: the maps agree within tolerance)
1           a golden check or a comparison beyond tolerance, or an internal error
2           bad input, or an environment the user must fix (one line on stderr)
130         interrupted by Ctrl-C (SIGINT)
141         stdout closed by its reader (``refglm explain-voxel ... | head -1``)
143         terminated (SIGTERM)
==========  ==========================================================================
"""

from __future__ import annotations

import signal

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INPUT",
    "EXIT_SIGINT",
    "EXIT_SIGPIPE",
    "EXIT_SIGTERM",
    "EPILOG",
]

EXIT_OK = 0
#: a golden check beyond its tolerance, or two sets of maps that disagree
EXIT_FAILED = 1
#: an error inside refglm (the same code: both mean "the result is not the expected one")
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_SIGINT = 128 + signal.SIGINT
#: stdout closed by its reader: 128 + SIGPIPE, what a shell reports for a tool SIGPIPE ended
EXIT_SIGPIPE = 128 + signal.SIGPIPE
EXIT_SIGTERM = 128 + signal.SIGTERM

#: The exit codes as ``refglm --help`` lists them.
EPILOG = (
    "exit codes: 0 ok, 1 a golden check or comparison beyond tolerance, or an internal "
    "error, 2 bad input, "
    "130 Ctrl-C, 141 stdout closed by its reader (| head), 143 SIGTERM"
)
