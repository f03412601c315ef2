"""Pieces of the pandoc + typst rendering path, on small hand-made documents."""

from __future__ import annotations

import nbformat
import pytest

from analysis.pipeline import render
from analysis.pipeline.render import RenderError


def make_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    for source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0g"
           "AAAABJRU5ErkJggg==")


@pytest.fixture
def doc(tmp_path):
    make_notebook(tmp_path / "nb.ipynb", [
        ("#| label: fig-a\n#| fig-cap: \"First figure\"\nplot()",
         [{"output_type": "display_data", "data": {"image/png": PNG_1PX}, "metadata": {}}]),
        ("#| label: tbl-b\n#| tbl-cap: Counts\nshow()",
         [{"output_type": "display_data", "metadata": {},
           "data": {"text/markdown": "| a | b |\n|---|---|\n| 1 | 2 |"}}]),
        ("#| label: fig-c\n#| fig-cap: Second\nplot()",
         [{"output_type": "display_data", "data": {"image/png": PNG_1PX}, "metadata": {}}]),
        ("#| label: txt-d\nmd()",
         [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
           "data": {"text/markdown": "We found **42** things.", "text/plain": "<md>"}}]),
        ("#| label: empty\nx = 1", []),
    ])
    qmd = tmp_path / "r.qmd"
    qmd.write_text("x")
    return render._Doc(path=qmd, workdir=tmp_path, target="html")


def test_cell_options_parse_quarto_comments():
    opts = render.cell_options('#| label: fig-x\n#| fig-cap: "A: caption"\nprint(1)')
    assert opts == {"label": "fig-x", "fig-cap": "A: caption"}
    assert render.cell_options("print(1)") == {}


def test_embed_and_crossrefs_number_in_order(doc):
    text = ("See @fig-c, @fig-a and @tbl-b.\n\n{{< embed nb.ipynb#fig-a >}}\n\n"
            "{{< embed nb.ipynb#tbl-b >}}\n\n{{< embed nb.ipynb#fig-c >}}\n\n"
            "{{< embed nb.ipynb#txt-d >}}")
    out = render.resolve_crossrefs(render.expand_shortcodes(text, doc), doc)
    assert "See [Figure 2](#fig-c), [Figure 1](#fig-a) and [Table 1](#tbl-b)." in out
    assert "![Figure 1: First figure](figures/fig-a.png){#fig-a width=100%}" in out
    assert ": Table 1: Counts {#tbl-b}" in out
    assert "We found **42** things." in out
    assert (doc.workdir / "figures" / "fig-c.png").read_bytes()[:4] == b"\x89PNG"


def test_typst_captions_are_left_to_typst(doc):
    doc.target = "typst"
    out = render.expand_shortcodes("{{< embed nb.ipynb#fig-a >}}", doc)
    assert "![First figure](figures/fig-a.png)" in out
    assert doc.numbers == {"fig-a": 1}


def test_shortcodes_in_code_fences_are_left_alone(doc):
    text = "```\n{{< embed nb.ipynb#fig-a >}}\n```"
    assert render.expand_shortcodes(text, doc) == text


def test_missing_label_is_an_error(doc):
    with pytest.raises(RenderError, match="no cell labelled 'fig-zzz'"):
        render.expand_shortcodes("{{< embed nb.ipynb#fig-zzz >}}", doc)


def test_cell_without_output_is_an_error(doc):
    with pytest.raises(RenderError, match="has no output to embed"):
        render.expand_shortcodes("{{< embed nb.ipynb#empty >}}", doc)


def test_missing_notebook_is_an_error(doc):
    with pytest.raises(RenderError, match="run `make notebooks` first"):
        render.expand_shortcodes("{{< embed absent.ipynb#fig-a >}}", doc)


def test_unresolved_crossref_is_an_error(doc):
    with pytest.raises(RenderError, match="@fig-nothing points to no embedded figure"):
        render.resolve_crossrefs("As @fig-nothing shows.", doc)


def test_section_numbers_follow_pandoc_rules(doc):
    text = ("# Intro {#sec-intro}\n\n## Detail {#sec-detail}\n\n# Next\n\n## Sub {#sec-sub}\n\n"
            "# Refs {.unnumbered #sec-refs}\n\nSee @sec-sub, @sec-detail and @sec-refs.")
    out = render.resolve_crossrefs(text, doc)
    assert "[Section 2.1](#sec-sub)" in out
    assert "[Section 1.1](#sec-detail)" in out
    assert "[the section](#sec-refs)" in out


def test_citations_are_not_taken_for_crossrefs(doc):
    assert render.resolve_crossrefs("As [@bass1969] showed.", doc) == "As [@bass1969] showed."


def test_include_inserts_file(doc, tmp_path):
    (tmp_path / "part.md").write_text("included text")
    assert render.expand_shortcodes("{{< include part.md >}}", doc) == "included text"
    with pytest.raises(RenderError, match="does not exist"):
        render.expand_shortcodes("{{< include nothing.md >}}", doc)


def test_full_document_with_callout_and_citation(tmp_path):
    """A tiny report through both outputs: callout styled, citation resolved."""
    make_notebook(tmp_path / "nb.ipynb", [
        ("#| label: fig-a\n#| fig-cap: A figure\nplot()",
         [{"output_type": "display_data", "data": {"image/png": PNG_1PX}, "metadata": {}}])])
    (tmp_path / "refs.bib").write_text(
        "@article{bass1969, author={Bass, Frank M.}, title={A New Product Growth Model},"
        " journal={Management Science}, year={1969}}\n")
    qmd = tmp_path / "mini.qmd"
    qmd.write_text("---\ntitle: Mini\nbibliography: refs.bib\n---\n\n"
                   "::: {.callout-note}\n## Heads up\nCalled out.\n:::\n\n"
                   "As @fig-a shows [@bass1969].\n\n{{< embed nb.ipynb#fig-a >}}\n")
    out = tmp_path / "_output"
    written = render.render_with_pandoc(qmd, out, ("html", "pdf"))
    assert [p.name for p in written] == ["mini.html", "mini.pdf"]
    html = (out / "mini.html").read_text()
    assert 'class="callout callout-note"' in html and "Heads up" in html
    assert "Bass 1969" in html and "Figure 1" in html
    assert 'src="data:image/png;base64,' in html
    assert (out / "mini.pdf").read_bytes()[:5] == b"%PDF-"


def test_failed_render_leaves_previous_output(tmp_path):
    out = tmp_path / "_output"
    out.mkdir()
    (out / "bad.html").write_text("previous report")
    qmd = tmp_path / "bad.qmd"
    qmd.write_text("---\ntitle: Bad\n---\n\nSee @fig-missing.\n")
    with pytest.raises(RenderError):
        render.render_with_pandoc(qmd, out, ("html",))
    assert (out / "bad.html").read_text() == "previous report"


def test_chinese_text_needs_a_cjk_font(tmp_path, monkeypatch):
    """Typst drops glyphs it has no font for without a warning; the renderer refuses."""
    import typst

    class NoCJK:
        def __init__(self, **kw):
            pass

        def families(self):
            return ["Libertinus Serif"]

    monkeypatch.setattr(typst, "Fonts", NoCJK)
    with pytest.raises(RenderError, match="no font covering them"):
        render.cjk_font(tmp_path / "x.qmd", "小")


SVG_SQUARE = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
              '<rect width="10" height="10" fill="#1f77b4"/></svg>')


def test_vector_figures_are_embedded_as_svg_with_a_source_link(tmp_path):
    """An SVG output wins over PNG (sharp in the PDF and when zoomed); in the HTML each
    embedded output names and links to its cell of the published notebook page."""
    make_notebook(tmp_path / "nb.ipynb", [
        ("#| label: fig-v\n#| fig-cap: Vector\nplot()",
         [{"output_type": "display_data", "metadata": {},
           "data": {"image/svg+xml": SVG_SQUARE, "image/png": PNG_1PX}}])])
    qmd = tmp_path / "v.qmd"
    qmd.write_text("See @fig-v.\n\n{{< embed nb.ipynb#fig-v >}}\n")
    html_doc = render._Doc(path=qmd, workdir=tmp_path, target="html")
    block = render.expand_shortcodes(qmd.read_text(), html_doc)
    assert "figures/fig-v.svg" in block
    assert (tmp_path / "figures" / "fig-v.svg").read_text() == SVG_SQUARE
    assert "[Source: nb.ipynb, cell fig-v](notebooks/nb.html#cell-fig-v)" in block
    typst_doc = render._Doc(path=qmd, workdir=tmp_path, target="typst")
    assert "Source:" not in render.expand_shortcodes(qmd.read_text(), typst_doc)
    written = render.render_with_pandoc(qmd, tmp_path / "_output", ("html", "pdf"))
    assert 'src="data:image/svg+xml;base64,' in written[0].read_text()
    assert written[1].read_bytes()[:5] == b"%PDF-"


def test_notebook_pages_anchor_every_labelled_cell(tmp_path):
    make_notebook(tmp_path / "05_x.ipynb", [
        ("#| label: fig-a\n#| fig-cap: A\nplot()",
         [{"output_type": "display_data", "data": {"image/png": PNG_1PX}, "metadata": {}}]),
        ("x = 1  # no label", [])])
    page = render.render_notebook_html(tmp_path / "05_x.ipynb", tmp_path / "_output")
    html = page.read_text()
    assert 'id="cell-fig-a"' in html and 'href="#cell-fig-a"' in html
    assert html.count('id="cell-') == 1
    assert "<script>" in html  # the reviewer script, inlined


@pytest.mark.parametrize("reports_dir", ["reports", "reports/observed"])
def test_quarto_config_gives_the_reviewer_features_for_the_embedded_notebooks(reports_dir):
    """What the pandoc path implements, Quarto is asked for in _quarto.yml: and the
    notebook-view list names exactly the notebooks the reports embed, each linked to the
    page the renderer publishes (so Quarto's "Source" links open the same pages)."""
    import re

    import yaml

    from analysis import config

    folder = config.PROJ_ROOT / reports_dir
    html = yaml.safe_load((folder / "_quarto.yml").read_text())["format"]["html"]
    assert html["embed-resources"] is True and html["toc-location"] == "right"
    assert html["crossrefs-hover"] is True and html["lightbox"] == "auto"
    assert html["notebook-links"] == "inline"
    assert set(html["theme"]) == {"light", "dark"}
    embedded = set()
    for qmd in folder.glob("*.qmd"):
        embedded |= set(re.findall(r"\{\{<\s*embed\s+(\S+?\.ipynb)#", qmd.read_text()))
    views = {v["notebook"]: v for v in html["notebook-view"]}
    assert set(views) == embedded
    for notebook, view in views.items():
        stem = notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")
        assert view["url"] == f"notebooks/{stem}.html"


def test_typst_header_exists_for_both_engines():
    import yaml

    from analysis import config

    typst = yaml.safe_load((config.REPORTS_DIR / "_quarto.yml").read_text())["format"]["typst"]
    assert typst["citeproc"] is True
    header = (config.REPORTS_DIR / typst["include-in-header"]).resolve()
    assert header == (config.PROJ_ROOT / "src/analysis/pipeline/templates/typst-header.typ")
    assert "breakable: true" in header.read_text()
