"""What real Quarto would do with the executed notebooks a report embeds, checked without it.

Quarto 1.11 (run on these reports on an offline machine) adds requirejs and jQuery from
cdn.jsdelivr.net to the HTML whenever *any* cell output of an embedded notebook is
``text/html`` -- even a cell the report does not embed -- and fails offline with
"Could not fetch resource https://cdn.jsdelivr.net/npm/jquery@3.5.1/...". The same holds
for JavaScript and widget outputs. Quarto is not installable here, so this test reads the
executed notebooks and refuses such outputs.
"""

from __future__ import annotations

import re

import nbformat
import pytest

pytestmark = pytest.mark.slow

#: Output MIME types that make Quarto pull scripts from a CDN.
CDN_PULLING = (
    "text/html",
    "application/javascript",
    "text/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.plotly.v1+json",
    "application/vnd.bokehjs_load.v0+json",
)

EMBED = re.compile(r"\{\{<\s*embed\s+([^#\s>]+\.ipynb)")


def _embedded_notebooks(reports_dir) -> set[str]:
    names = set()
    for qmd in reports_dir.glob("*.qmd"):
        names |= {m.split("/")[-1] for m in EMBED.findall(qmd.read_text())}
    return names


def cdn_pulling_outputs(notebook) -> list[str]:
    """``"cell <code-cell index> (<label>): <mime>"`` for every offending output."""
    bad = []
    code = [c for c in notebook.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        label = next((ln.split(":", 1)[1].strip() for ln in cell.source.splitlines()
                      if ln.startswith("#| label:")), "no label")
        for out in cell.get("outputs", []):
            for mime in out.get("data", {}):
                if mime in CDN_PULLING:
                    bad.append(f"code cell {i} ({label}): {mime}")
    return bad


def test_the_check_finds_a_bare_dataframe():
    import pandas as pd
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(pd.DataFrame({"a": [1]}))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "df.head()", outputs=[nbformat.v4.new_output("execute_result", data=data)])])
    assert cdn_pulling_outputs(nb) == ["code cell 0 (no label): text/html"]


def test_embedded_notebooks_have_no_cdn_pulling_output(built):
    embedded = _embedded_notebooks(built["reports"])
    assert embedded, "the reports embed no notebook"
    problems = {}
    for name in sorted(embedded):
        nb = nbformat.read(built["build"] / "notebooks" / name, as_version=4)
        if bad := cdn_pulling_outputs(nb):
            problems[name] = bad
    assert not problems, (
        "outputs that make Quarto fetch requirejs/jQuery from a CDN (show a table with "
        f"md_table or print(frame.to_string()) instead): {problems}")


#: A header that is a program's name, not a reader's ("period_start").
SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
#: A whole number printed with two or more zero decimals ("300,000.00"): a count
#: claiming precision (one decimal, "29,390.0", is a difference of AICs to 0.1).
WHOLE_WITH_DECIMALS = re.compile(r"^-?\d{1,3}(,\d{3})+\.00+$")


def table_problems(markdown: str) -> list[str]:
    rows = [ln for ln in markdown.splitlines() if ln.startswith("|")]
    if len(rows) < 2:
        return []
    cells = lambda ln: [c.strip() for c in ln.strip("|").split("|")]  # noqa: E731
    bad = [f"header {h!r}" for h in cells(rows[0]) if SNAKE.match(h)]
    bad += [f"cell {c!r}" for ln in rows[2:] for c in cells(ln) if WHOLE_WITH_DECIMALS.match(c)]
    return bad


def test_the_table_check_finds_snake_case_headers_and_decimal_counts():
    assert table_problems("| period_start | dau |\n|---|---|\n| 2025-01-06 | 300,000.00 |") \
        == ["header 'period_start'", "cell '300,000.00'"]
    assert table_problems("| period start | dau |\n|---|---|\n| 2025-01-06 | 300,000 |") == []


def test_embedded_tables_read_as_prose_not_code(built):
    """PDF polish: no snake_case column header and no '.00' on a count in any table a
    report embeds."""
    embedded = _embedded_notebooks(built["reports"])
    problems = {}
    for name in sorted(embedded):
        nb = nbformat.read(built["build"] / "notebooks" / name, as_version=4)
        for cell in nb.cells:
            label = next((ln.split(":", 1)[1].strip() for ln in cell.source.splitlines()
                          if ln.startswith("#| label:")), "")
            if cell.cell_type != "code" or not label.startswith("tbl-"):
                continue
            for out in cell.get("outputs", []):
                if bad := table_problems("".join(out.get("data", {}).get("text/markdown", ""))):
                    problems[f"{name}#{label}"] = bad
    assert not problems, problems
