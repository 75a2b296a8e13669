"""Exceptions raised by refglm for bad input.

Every message names the file or field, what was expected, what was found,
and the fix, in the style of pooch's hash-mismatch messages.
"""

__all__ = ["InputError", "DataIntegrityError", "NotEstimableError", "OutputWriteError"]


class InputError(ValueError):
    """Bad input: a file, field or parameter that refglm cannot use as given."""


class DataIntegrityError(InputError):
    """A data file whose checksum or content hash differs from the manifest."""


class NotEstimableError(InputError):
    """A contrast that is not estimable with the (rank-deficient) design."""


class OutputWriteError(InputError):
    """An output the system refused to write: a full disk, a read-only folder, no permission.

    Not a bug of refglm but the user's environment, so an input error (exit 2 in
    the CLI), whose message names the file and what was being written.
    """
