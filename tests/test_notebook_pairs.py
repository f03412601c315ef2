"""Each notebook is paired with a jupytext py:percent script reviewers can diff
(jupytext.toml); the two must tell the same story, cell by cell."""

from __future__ import annotations

import jupytext
import nbformat
import pytest

from analysis import config

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_its_script_agree(path):
    script = path.with_suffix(".py")
    assert script.is_file(), (f"{script.name} is missing: run `.venv/bin/jupytext --sync "
                              f"notebooks/{path.name}` (the pre-commit hook does it)")
    nb = nbformat.read(path, as_version=4)
    paired = jupytext.read(script)
    cells = [(c.cell_type, c.source.strip(), "parameters" in c.metadata.get("tags", []))
             for c in nb.cells]
    paired_cells = [(c.cell_type, c.source.strip(), "parameters" in c.metadata.get("tags", []))
                    for c in paired.cells]
    assert len(cells) == len(paired_cells), f"{path.name}: cell counts differ"
    for i, (a, b) in enumerate(zip(cells, paired_cells, strict=True)):
        assert a == b, f"{path.name} and {script.name} differ at cell {i}: run jupytext --sync"


def test_the_check_sees_a_stale_script(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    stale = jupytext.reads(jupytext.writes(nb, fmt="py:percent").replace("x = 1", "x = 2"),
                           fmt="py:percent")
    assert stale.cells[0].source != nb.cells[0].source
