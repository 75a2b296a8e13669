"""import-linter contract types that import-linter does not ship: private names, hidden imports.

``pyproject.toml`` registers them (``[tool.importlinter] contract_types``) beside the
layers, forbidden, private-modules and acyclic-siblings contracts, and ``make test``
checks them all with ``lint-imports``:

- ``private_names``: no ``_private`` name of a module is imported (``from m import
  _x``) or read (``m._x``) from another top-level subpackage of the root package.
  Private *modules* are import-linter's own ``private_modules`` contract; this one
  covers the names inside public modules.
- ``no_hidden_imports``: no module of the root package is imported through
  ``importlib`` (``import_module``, ``find_spec``, ``spec_from_file_location``) or
  ``__import__`` with a literal name of the package: such imports hide edges from
  import-linter, ruff and readers.

Both read the package's sources with :mod:`ast`: every import counts, inside
functions too.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

_HIDING_CALLS = {"import_module", "find_spec", "spec_from_file_location", "__import__"}


def _sources(package: str) -> dict[str, Path]:
    """Every module of ``package`` with its source file."""
    spec = importlib.util.find_spec(package)
    root = Path(spec.origin).parent
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _subpackage(module: str, modules: dict[str, Path]) -> str:
    """The top-level subpackage of ``module`` (the root package for its own modules)."""
    parts = module.split(".")
    if len(parts) >= 2 and f"{parts[0]}.{parts[1]}" in modules:
        candidate = f"{parts[0]}.{parts[1]}"
        if modules[candidate].name == "__init__.py":
            return candidate
    return parts[0]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class PrivateNamesContract(Contract):
    """No ``_private`` name crosses from one top-level subpackage into another.

    Configuration options:

        - root_package: the package whose modules are checked.
    """

    type_name = "private_names"

    root_package = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = _sources(str(self.root_package))
        violations = []
        for module, path in modules.items():
            mine = _subpackage(module, modules)
            tree = ast.parse(path.read_text(), str(path))
            aliases = {}
            for node in ast.walk(tree):
                if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
                    continue
                if node.module not in modules:
                    continue
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in modules:  # a module imported by name: check its uses below
                        aliases[alias.asname or alias.name] = target
                        continue
                    if _is_private(alias.name) and _subpackage(node.module, modules) != mine:
                        violations.append(f"{module}:{node.lineno} imports {target}")
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in aliases
                    and _is_private(node.attr)
                    and _subpackage(aliases[node.value.id], modules) != mine
                ):
                    violations.append(
                        f"{module}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}"
                    )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["violations"]:
            output.print_error(f"- {line}")
        output.print_error(
            "A name starting with '_' is private to its subpackage: make it public (and "
            "collect it in the subpackage's __init__), or move the code that needs it."
        )


class NoHiddenImportsContract(Contract):
    """No module of the root package is imported through ``importlib`` or ``__import__``.

    Configuration options:

        - root_package: the package whose modules are checked, and whose name the
          hidden imports would name.
    """

    type_name = "no_hidden_imports"

    root_package = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        root = str(self.root_package)
        violations = []
        for module, path in _sources(root).items():
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in _HIDING_CALLS:
                    continue
                for arg in node.args[:1]:
                    if (
                        isinstance(arg, ast.Constant)
                        and isinstance(arg.value, str)
                        and (arg.value == root or arg.value.startswith(root + "."))
                    ):
                        violations.append(f"{module}:{node.lineno} {name}({arg.value!r})")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["violations"]:
            output.print_error(f"- {line}")
        output.print_error(
            "Import the module with an import statement (inside the function, if it must "
            "load late), so that import-linter and ruff see the edge."
        )
