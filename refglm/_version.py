"""refglm's version: the one source, read by ``pyproject.toml`` and ``refglm.__version__``.

A module of its own, so that the modules that write the version into their outputs
(``dataset_description.json``, the report) import it without importing the package's
public API.
"""

__version__ = "0.1.0"
