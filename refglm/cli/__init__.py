"""The ``refglm`` command line (entry point ``refglm.cli:main``).

One module per command (:mod:`.tutorial`, :mod:`.fit`, :mod:`.validate`,
:mod:`.fetch`, :mod:`.explain_voxel`, :mod:`.compare`), each with its parser
beside its handler; :mod:`.main` dispatches, :mod:`.options` holds what the
parsers share, :mod:`.progress` the progress bars and :mod:`.exit_codes` the one
set of exit codes.
"""

from refglm.cli.exit_codes import (
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGPIPE,
    EXIT_SIGTERM,
)
from refglm.cli.main import main

__all__ = [
    "main",
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INPUT",
    "EXIT_SIGINT",
    "EXIT_SIGPIPE",
    "EXIT_SIGTERM",
]
