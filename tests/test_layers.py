"""The package's layers, read off its imports (an ``ast`` walk; STYLE.md "Imports point down").

    config, _io            the bottom: paths and I/O primitives
    models                 pure estimators: import nothing of the project but models/
    data                   what exists (published figures, the cohort engine)
    simulation             what we invent; may use data and models
    pipeline               params -> runner -> results -> provenance -> render; no domain
    notebooks              one helper module per notebook (+ common); may use the layers
                           below, never another notebook's helper module

Every ``import`` and ``from ... import`` anywhere in a module counts, including those
inside functions. A notebook (``notebooks/NN_name.ipynb``) may import only its own helper
module among the notebook helpers, so that editing one notebook's helpers never
re-executes another notebook.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from analysis import config

PACKAGE = config.PROJ_ROOT / "src" / "analysis"

#: For each layer, the layers (first component under ``analysis.``) it may import.
ALLOWED = {
    "config": set(),
    "_io": {"config"},
    "models": {"models"},
    "data": {"config", "_io", "data"},
    "simulation": {"config", "_io", "data", "models", "simulation"},
    "pipeline": {"config", "_io", "pipeline"},
    "notebooks": {"config", "_io", "data", "models", "simulation", "notebooks"},
}

#: Notebook stem -> its helper module under analysis.notebooks.
HELPERS = {
    "00_sources": "sources",
    "01_retention": "retention",
    "02_dau_forecast": "dau_forecast",
    "03_merchant_adoption": "merchant_adoption",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree`` that names ``analysis``."""
    package = module if module.count(".") == 0 else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "analysis" or name.endswith(".notebooks") or name.count(".") == 1:
                # ``from analysis import config`` / ``from analysis.notebooks import common``
                found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, name))
    return [(line, name) for line, name in found if name.split(".")[0] == "analysis"]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_layer():
    strays = [_module_name(p) for p in MODULES
              if _layer(_module_name(p)) not in ALLOWED and _module_name(p) != "analysis"]
    assert not strays, f"modules outside every layer: {strays}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_point_down(path):
    module = _module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    if path.name == "__init__.py":
        # The package maps are docstrings only: an import here would make every module of
        # the package a dependency of every notebook in the .d files.
        assert not _imports(tree, module), f"{module}: __init__ must not import"
        return
    layer = _layer(module)
    bad = []
    for line, name in _imports(tree, module):
        if name == "analysis":
            continue  # the bare package (its __init__ imports nothing) belongs to no layer
        target = _layer(name)
        if target not in ALLOWED[layer]:
            bad.append(f"line {line}: {name} ({layer} -> {target})")
        if layer == "notebooks" and target == "notebooks":
            own = module.split(".")[-1]
            imported = name.split(".")[2] if name.count(".") >= 2 else ""
            if imported not in ("common", own) and own != "common":
                bad.append(f"line {line}: {name} (a notebook helper imports another's)")
            if own == "common" and imported not in ("common", ""):
                bad.append(f"line {line}: {name} (common imports a notebook helper)")
    assert not bad, f"{module} imports against the layers:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("stem", sorted(HELPERS))
def test_notebook_imports_only_its_own_helper(stem):
    nb = nbformat.read(config.NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(source)
    helpers = {name.split(".")[2] for _, name in _imports(tree, "analysis")
               if name.startswith("analysis.notebooks.")}
    assert helpers <= {"common", HELPERS[stem]}, (
        f"notebooks/{stem}.ipynb imports other notebooks' helpers: "
        f"{sorted(helpers - {'common', HELPERS[stem]})}")


def test_the_rule_catches_an_upward_import(tmp_path):
    # The walk itself: an upward import (data -> pipeline) and a cross-notebook import are
    # found, including one hidden inside a function.
    tree = ast.parse("def f():\n    from analysis.pipeline.results import Results\n"
                     "from analysis.notebooks import retention\n")
    names = [n for _, n in _imports(tree, "analysis.data.sources")]
    assert "analysis.pipeline.results" in names
    assert "analysis.notebooks.retention" in names
    assert {_layer(n) for n in names} - ALLOWED["data"] == {"pipeline", "notebooks"}
