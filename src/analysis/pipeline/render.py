"""Render the Quarto reports: with ``quarto`` when it is on PATH, else pandoc + typst.

    python -m analysis.pipeline.render                 # every reports/*.qmd, HTML and PDF
    python -m analysis.pipeline.render findings --engine pandoc --format html

Both paths read the same sources (``reports/*.qmd``, ``reports/_quarto.yml``,
``reports/references.bib``) and write ``reports/_output/<name>.html`` (one
self-contained file: images inlined, nothing fetched from a network when opened) and
``reports/_output/<name>.pdf``. The executed notebooks are also rendered to HTML, with
their code, under ``reports/_output/notebooks/``.

The fallback path does, in Python and a small Lua filter, what Quarto does for the
features these reports use:

- ``{{< include file >}}`` -- the file's text, inserted;
- ``{{< embed notebook.ipynb#label >}}`` -- the outputs of the cell whose ``#| label:``
  is ``label`` in an executed notebook: ``text/markdown`` outputs as Markdown, images as
  figures captioned by the cell's ``#| fig-cap:``, Markdown tables captioned by
  ``#| tbl-cap:``;
- cross-references ``@fig-...``, ``@tbl-...``, ``@sec-...`` -- numbered in order of
  appearance, as "Figure 2", "Table 1", "Section 3";
- citations ``[@key]`` from the bibliography (pandoc ``--citeproc``);
- callouts ``::: {.callout-note}`` (and tip, important, warning, caution);
- title, subtitle, author, date, table of contents, numbered sections.

Nothing is lost: every output of a render (each report's HTML and PDF, each notebook's
HTML) is built in a hidden staging directory beside ``reports/_output`` (same
filesystem), and they are renamed into place together, with SIGINT/SIGTERM held off,
only when all of them succeeded. A failure in any step (a broken cross-reference, typst
failing on the PDF after the HTML was made, Ctrl-C, a full disk) removes the staging
directory, prints one line and leaves every previous output byte-identical. A render
holds the build lock (``build/notebooks/.locks/build.lock``, see
:mod:`analysis.pipeline.runner`) while it reads the executed notebooks, so it never
mixes two runs of a notebook and two renders never interleave. Files whose names start
with a dot (temporary files of runs) are never read or published. Unresolvable embeds
or cross-references are errors, never silent gaps.

Dates: the report's ``date: last-modified``/``today``, the PDF's creation date and the
provenance appendix's build date all come from ``SOURCE_DATE_EPOCH`` (the time of the
commit when it is unset), so that two builds of one commit are byte-identical.

Exit codes: 0 success, 1 render error, 2 bad arguments, 3 environment (disk full, I/O),
4 the build is locked (after ``ANALYSIS_LOCK_TIMEOUT``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import base64
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import yaml

from analysis import config
from analysis._io import relative
from analysis.pipeline import changes
from analysis.pipeline.changes import CompareError
from analysis.pipeline.provenance import (
    collect,
    git_state,
    load_results,
    provenance_markdown,
    source_date_epoch,
)
from analysis.pipeline.runner import (
    EXIT_ENV,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    BuildLocked,
    Interrupted,
    build_lock,
    disk_full_message,
    interrupts_raise,
    lock_timeout,
    move_into_place,
    signals_held,
)

# jsonschema (imported by nbformat) compiles rfc3987_syntax's grammar on import: 2 s per
# process for an IRI format check nbformat never uses. Skipping it is safe.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

SHORTCODE = re.compile(r"\{\{<\s*(include|embed)\s+([^\s>]+)[^>]*>\}\}")
CROSSREF = re.compile(r"(?<![\w@\[-])\[?-?@(fig|tbl|sec)-([A-Za-z0-9_-]+)\]?")
FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
KIND_NAMES = {"fig": "Figure", "tbl": "Table", "sec": "Section"}


class RenderError(RuntimeError):
    """A report could not be rendered; the message says which file and why."""


# --- Executed notebooks -----------------------------------------------------------------

def cell_options(source: str) -> dict:
    """Quarto cell options: the leading ``#| key: value`` lines of a cell, as YAML."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:].strip())
    return yaml.safe_load("\n".join(lines)) or {} if lines else {}


def find_cell(notebook: Path, label: str):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell_options(cell.source).get("label") == label:
            return cell
    return None


@dataclass
class _Doc:
    """State of one document being expanded: where it lives and what it numbered."""

    path: Path
    workdir: Path
    target: str  # "html" or "typst"
    numbers: dict = field(default_factory=dict)  # "fig-x" -> 1
    counters: dict = field(default_factory=lambda: {"fig": 0, "tbl": 0})

    def number(self, label: str) -> int:
        kind = label.split("-", 1)[0]
        if label not in self.numbers:
            self.counters[kind] += 1
            self.numbers[label] = self.counters[kind]
        return self.numbers[label]

    def caption(self, label: str, text: str) -> str:
        number = self.number(label)
        # Typst numbers figures and tables itself ("Figure 1: ..."); HTML needs the prefix.
        if self.target == "typst":
            return text
        return f"{KIND_NAMES[label.split('-', 1)[0]]} {number}: {text}"


def _embed(doc: _Doc, target: str) -> str:
    if "#" not in target:
        raise RenderError(f"{relative(doc.path)}: embed '{target}' needs a cell label "
                          "(notebook.ipynb#label)")
    nb_part, label = target.split("#", 1)
    notebook = (doc.path.parent / nb_part).resolve()
    if not notebook.is_file():
        raise RenderError(f"{relative(doc.path)}: embedded notebook {relative(notebook)} "
                          "does not exist; run `make notebooks` first")
    cell = find_cell(notebook, label)
    if cell is None:
        raise RenderError(f"{relative(doc.path)}: no cell labelled '{label}' in "
                          f"{relative(notebook)}")
    opts = cell_options(cell.source)
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            raise RenderError(f"{relative(notebook)}#{label}: the cell raised "
                              f"{out.get('ename')}: {out.get('evalue')}")
        data = out.get("data", {})
        if "text/markdown" in data:
            parts.append(("markdown", _text(data["text/markdown"])))
        elif "image/svg+xml" in data:  # vector: sharp in the PDF and when zoomed
            parts.append(("svg", _text(data["image/svg+xml"])))
        elif "image/png" in data:
            parts.append(("png", data["image/png"]))
        elif "text/plain" in data and out.get("output_type") == "execute_result":
            parts.append(("markdown", _text(data["text/plain"])))
    if not parts:
        raise RenderError(f"{relative(notebook)}#{label}: the cell has no output to embed")
    blocks = []
    for i, (kind, payload) in enumerate(parts):
        if kind in ("png", "svg"):
            name = f"{label}-{i}.{kind}" if i else f"{label}.{kind}"
            (doc.workdir / "figures").mkdir(exist_ok=True)
            if kind == "png":
                (doc.workdir / "figures" / name).write_bytes(base64.b64decode(payload))
            else:
                (doc.workdir / "figures" / name).write_text(payload)
            if label.startswith("fig-"):
                cap = doc.caption(label, str(opts.get("fig-cap", "")))
                blocks.append(f"![{cap}](figures/{name}){{#{label} width=100%}}")
            else:
                blocks.append(f"![](figures/{name}){{width=100%}}")
        elif label.startswith("tbl-") and "|" in payload:
            cap = doc.caption(label, str(opts.get("tbl-cap", "")))
            blocks.append(f"{payload.strip()}\n\n: {cap} {{#{label}}}")
        else:
            blocks.append(payload.strip())
    body = "\n\n".join(blocks)
    if doc.target != "html":
        return body
    # As Quarto's notebook links: each embedded output names, and links to, the cell of
    # the published notebook page it came from (notebooks/<name>.html#cell-<label>).
    kind = ("figure" if label.startswith("fig-") else "table" if label.startswith("tbl-")
            else "text")
    link = (f"[Source: {notebook.name}, cell {label}]"
            f"(notebooks/{notebook.stem}.html#cell-{label})")
    return (f":::: {{.embedded .embedded-{kind}}}\n{body}\n\n"
            f"::: {{.source-link}}\n{link}\n:::\n::::")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


# --- Source expansion -------------------------------------------------------------------

def split_front_matter(text: str, path: Path) -> tuple[dict, str]:
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, flags=re.S)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as err:
        raise RenderError(f"{relative(path)}: front matter is not valid YAML: {err}") from None
    return meta, text[match.end():]


def _sub_outside_fences(pattern: re.Pattern, replace, text: str) -> str:
    """``pattern.sub(replace, ...)`` on every line that is not inside a code fence."""
    out, in_fence = [], False
    for line in text.split("\n"):
        if FENCE.match(line.strip()):
            in_fence = not in_fence
        out.append(line if in_fence else pattern.sub(replace, line))
    return "\n".join(out)


def expand_shortcodes(text: str, doc: _Doc, depth: int = 0) -> str:
    """Replace include and embed shortcodes (outside code fences)."""
    if depth > 5:
        raise RenderError(f"{relative(doc.path)}: includes nested more than 5 deep")

    def replace(match: re.Match) -> str:
        kind, target = match.group(1), match.group(2)
        if kind == "embed":
            return _embed(doc, target)
        included = (doc.path.parent / target).resolve()
        if not included.is_file():
            raise RenderError(f"{relative(doc.path)}: included file {relative(included)} "
                              "does not exist")
        return expand_shortcodes(included.read_text(), doc, depth + 1)

    return _sub_outside_fences(SHORTCODE, replace, text)


def _section_numbers(text: str) -> dict:
    """``sec-`` labels of numbered headings → "2.1" (pandoc --number-sections rule)."""
    counters, numbers, in_fence = [0] * 6, {}, False
    for line in text.split("\n"):
        if FENCE.match(line.strip()):
            in_fence = not in_fence
        match = None if in_fence else HEADING.match(line)
        if not match:
            continue
        attrs = match.group(3) or ""
        if ".unnumbered" in attrs or re.search(r"(^|\s)-(\s|})", attrs):
            ident = re.search(r"#(sec-[\w-]+)", attrs)
            if ident:
                numbers[ident.group(1)] = None
            continue
        level = len(match.group(1))
        counters[level - 1] += 1
        counters[level:] = [0] * (6 - level)
        ident = re.search(r"#(sec-[\w-]+)", attrs)
        if ident:
            numbers[ident.group(1)] = ".".join(str(c) for c in counters[:level])
    return numbers


def resolve_crossrefs(text: str, doc: _Doc) -> str:
    """``@fig-x`` → "[Figure 2](#fig-x)"; unknown labels are errors."""
    sections = _section_numbers(text)

    def replace(match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        label = f"{kind}-{name}"
        if kind == "sec":
            if label not in sections:
                raise RenderError(f"{relative(doc.path)}: cross-reference @{label} points "
                                  "to no heading")
            number = sections[label]
            text = f"Section {number}" if number else "the section"
        else:
            if label not in doc.numbers:
                raise RenderError(f"{relative(doc.path)}: cross-reference @{label} points "
                                  "to no embedded figure or table")
            text = f"{KIND_NAMES[kind]} {doc.numbers[label]}"
        return f"[{text}](#{label})"

    return _sub_outside_fences(CROSSREF, replace, text)


# --- Engines ----------------------------------------------------------------------------

def _template(name: str):
    return resources.files("analysis.pipeline") / "templates" / name


def _filter(name: str) -> str:
    return str(resources.files("analysis.pipeline") / "filters" / name)


def reviewer_script(work: Path) -> Path:
    """``report.js`` as an HTML fragment for ``--include-after-body`` (inlined: the page
    stays one self-contained file)."""
    script = _template("report.js").read_text()
    if "</script" in script.lower():
        raise RenderError("templates/report.js must not contain '</script'")
    out = work / "reviewer-after-body.html"
    out.write_text(f"<script>\n{script}</script>\n")
    return out


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def engine_versions(engine: str) -> dict:
    import typst

    versions = {"render engine": engine}
    if engine == "quarto":
        out = subprocess.run(["quarto", "--version"], capture_output=True, text=True)
        versions["quarto"] = out.stdout.strip()
    else:
        out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True)
        versions["pandoc"] = out.stdout.split("\n", 1)[0].split()[-1]
        versions["typst (python)"] = typst.__version__
    return versions


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    # pandoc warnings (unresolved citations, missing images) are errors for a report that
    # reviewers must be able to trust.
    warnings = [ln for ln in proc.stderr.splitlines() if "[WARNING]" in ln]
    if warnings:
        raise RenderError(f"{what} reported problems:\n" + "\n".join(warnings))


class Staging:
    """Outputs of one render, built beside ``out_dir`` and promoted together.

    ``add(src, dest)`` copies a finished file into the hidden staging directory (on the
    same filesystem as ``out_dir``); ``promote()`` renames every staged file over its
    destination with SIGINT/SIGTERM held off; ``discard()`` (also on leaving a ``with``
    block without promoting) removes the staging directory and leaves ``out_dir`` as it
    was.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        self.dir = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.staging-{os.getpid()}-",
                                         dir=self.out_dir.parent))
        self.files: list[tuple[Path, Path]] = []

    def _remove_stale(self) -> None:
        """Staging directories of renders that were killed (their process is gone)."""
        for old in self.out_dir.parent.glob(f".{self.out_dir.name}.staging-*"):
            try:
                pid = int(old.name.rsplit(".staging-", 1)[1].split("-", 1)[0])
                os.kill(pid, 0)
            except ProcessLookupError:
                shutil.rmtree(old, ignore_errors=True)
            except (ValueError, IndexError, PermissionError):
                continue

    def add(self, src: Path, dest: Path) -> Path:
        staged = self.dir / f"{len(self.files):03d}-{dest.name}"
        shutil.copyfile(src, staged)
        self.files.append((staged, dest))
        return dest

    def promote(self) -> list[Path]:
        with signals_held():
            for staged, dest in self.files:
                move_into_place(staged, dest)
        self.discard()
        return [dest for _, dest in self.files]

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


def cjk_font(qmd: Path, sample: str) -> str:
    """A font family covering Chinese, or a RenderError (typst would drop the glyphs
    silently)."""
    import typst

    families = typst.Fonts(include_system_fonts=True).families()
    for wanted in ("Noto Serif CJK SC", "Noto Sans CJK SC", "Source Han Serif SC",
                   "Noto Serif CJK TC", "Noto Sans CJK TC"):
        if wanted in families:
            return wanted
    raise RenderError(
        f"{relative(qmd)}: the report contains Chinese characters (for example {sample!r}) "
        "but no font covering them is installed, so the PDF would miss glyphs. Install "
        "one (Debian: apt-get install fonts-noto-cjk) or write the text in pinyin/English.")


def report_date(value) -> str | None:
    """Quarto's date keywords as the build date (``SOURCE_DATE_EPOCH``, else the commit)."""
    if str(value) in ("today", "now", "last-modified"):
        return datetime.fromtimestamp(source_date_epoch(), UTC).strftime("%Y-%m-%d")
    return value


def render_with_pandoc(qmd: Path, out_dir: Path, formats: tuple[str, ...],
                       staging: Staging | None = None) -> list[Path]:
    """The fallback path: expand the .qmd, then pandoc → HTML, pandoc → typst → PDF.

    The outputs go to ``staging`` (promoted by the caller); without one, they are
    staged here and promoted together once every format succeeded.
    """
    if staging is None:
        with Staging(out_dir) as own:
            render_with_pandoc(qmd, out_dir, formats, own)
            return own.promote()
    import typst

    project = yaml.safe_load((qmd.parent / "_quarto.yml").read_text()) or {} \
        if (qmd.parent / "_quarto.yml").is_file() else {}
    raw_meta, body = split_front_matter(qmd.read_text(), qmd)
    meta = {**(project.get("metadata") or {}), **raw_meta}
    bib = meta.get("bibliography") or project.get("bibliography")
    written = []
    with tempfile.TemporaryDirectory(prefix=f"render-{qmd.stem}-") as tmp:
        work = Path(tmp)
        for fmt in formats:
            target = "typst" if fmt == "pdf" else "html"
            doc = _Doc(path=qmd, workdir=work, target=target)
            text = expand_shortcodes(body, doc)
            text = resolve_crossrefs(text, doc)
            keep = {k: v for k, v in meta.items()
                    if k in ("title", "subtitle", "author", "date", "abstract", "lang")}
            if "date" in keep:
                keep["date"] = report_date(keep["date"])  # Quarto's date keywords
            if target == "typst":
                keep.update(papersize="a4", fontsize="10pt", margin={"x": "2cm", "y": "2.2cm"},
                            **{"section-numbering": "1.1"})
                cjk = CJK.search(text + yaml.safe_dump(keep, allow_unicode=True))
                if cjk:
                    keep["mainfont"] = ["Libertinus Serif", cjk_font(qmd, cjk.group(0))]
            source = work / f"{qmd.stem}.{target}.md"
            source.write_text("---\n" + yaml.safe_dump(keep, allow_unicode=True)
                              + "---\n\n" + text)
            # --columns: pipe tables narrower than this keep their natural widths
            # instead of wrapping words to relative widths.
            cmd = [pandoc_path(), source.name, "--from", "markdown", "--standalone",
                   "--columns", "160",
                   "--toc", "--number-sections",
                   "--lua-filter", _filter("callouts.lua"),
                   "--resource-path", f"{work}:{qmd.parent}"]
            if bib:
                cmd += ["--citeproc", "--bibliography", str((qmd.parent / bib).resolve())]
            if fmt == "html":
                out = work / f"{qmd.stem}.html"
                cmd += ["--to", "html5", "--embed-resources", "--css", str(_template("report.css")),
                        "--include-after-body", str(reviewer_script(work)),
                        "--output", out.name]
                _run(cmd, work, f"pandoc (HTML) for {relative(qmd)}")
            else:
                typ = work / f"{qmd.stem}.typ"
                cmd += ["--to", "typst", "--include-in-header", str(_template("typst-header.typ")),
                        "--output", typ.name]
                _run(cmd, work, f"pandoc (typst) for {relative(qmd)}")
                out = work / f"{qmd.stem}.pdf"
                try:
                    _, warnings = typst.compile_with_warnings(
                        str(typ), output=str(out), root=str(work),
                        timestamp=source_date_epoch())  # the PDF's creation date
                except Exception as err:  # typst raises its own TypstError
                    raise RenderError(f"typst failed for {relative(qmd)}: {err}") from None
                # A font warning means glyphs would be missing from the PDF.
                font_problems = [str(w) for w in warnings if "font" in str(w).lower()
                                 or "glyph" in str(w).lower()]
                if font_problems:
                    raise RenderError(f"typst for {relative(qmd)}: "
                                      + "; ".join(font_problems))
            written.append(staging.add(out, out_dir / out.name))
    return written


def render_with_quarto(qmd: Path, out_dir: Path, formats: tuple[str, ...],
                       staging: Staging | None = None) -> list[Path]:
    """The Quarto path: ``quarto render`` into a scratch directory, then staged."""
    if staging is None:
        with Staging(out_dir) as own:
            render_with_quarto(qmd, out_dir, formats, own)
            return own.promote()
    written = []
    with tempfile.TemporaryDirectory(prefix=f"quarto-{qmd.stem}-", dir=qmd.parent) as tmp:
        for fmt in formats:
            to = "typst" if fmt == "pdf" else "html"
            scratch = Path(tmp) / fmt
            _run(["quarto", "render", qmd.name, "--to", to, "--output-dir", str(scratch)],
                 qmd.parent, f"quarto render {qmd.name} --to {to}")
            produced = scratch / f"{qmd.stem}.{fmt}"
            if not produced.is_file():
                raise RenderError(f"quarto did not produce {produced.name}")
            written.append(staging.add(produced, out_dir / produced.name))
    return written


def render_notebook_html(notebook: Path, out_dir: Path,
                         staging: Staging | None = None) -> Path:
    """An executed notebook, code and outputs, as one self-contained HTML file."""
    if staging is None:
        with Staging(out_dir) as own:
            render_notebook_html(notebook, out_dir, own)
            return own.promote()[0]
    dest = out_dir / "notebooks" / f"{notebook.stem}.html"
    with tempfile.TemporaryDirectory(prefix="nb-html-") as tmp:
        out = Path(tmp) / dest.name
        # every labelled cell is the anchor cell-<label> the reports' source links open
        _run([pandoc_path(), str(notebook), "--from", "ipynb", "--to", "html5",
              "--standalone", "--embed-resources", "--css", str(_template("report.css")),
              "--lua-filter", _filter("notebook_cells.lua"),
              "--include-after-body", str(reviewer_script(Path(tmp))),
              "--metadata", f"title=Notebook {notebook.stem} (executed)",
              "--output", str(out)], Path(tmp), f"pandoc for {relative(notebook)}")
        return staging.add(out, dest)


def executed_notebooks() -> list[Path]:
    """The executed notebooks of the build; never dotfiles (runs in progress or dead)."""
    return sorted(p for p in config.EXECUTED_DIR.glob("*.ipynb")
                  if not p.name.startswith(".") and p.is_file())


def write_provenance(engine: str) -> Path:
    """The provenance appendix that every report includes, from the saved results."""
    path = config.PROVENANCE_MD
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(provenance_markdown(collect(extra_versions=engine_versions(engine))))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def build_meta() -> dict:
    """What the "What changed" appendix says of a build: commit, dirtiness, date."""
    git = git_state()
    return {"commit": git["commit"], "dirty": git["dirty"],
            "built_utc": datetime.fromtimestamp(source_date_epoch(), UTC)
            .strftime("%Y-%m-%d %H:%M UTC")}


def choose_engine(requested: str = "auto") -> str:
    if requested == "auto":
        return "quarto" if shutil.which("quarto") else "pandoc"
    if requested == "quarto" and not shutil.which("quarto"):
        raise RenderError("--engine quarto was requested but `quarto` is not on PATH")
    return requested


def _say(message: str) -> None:
    print(f"[render] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def render(names=None, engine="auto", formats=("html", "pdf"), reports_dir=None,
           notebooks=True, lock_timeout_s: float | None = None,
           compare: str | None = None) -> list[Path]:
    """Render reports (default: every ``*.qmd`` not starting with ``_`` or ``.``).

    All outputs are promoted together at the end, or none is (see the module docstring).
    The "What changed" appendix compares this build's results with the previous
    render's, or with ``compare`` (a git ref or a folder of saved results; see
    :mod:`analysis.pipeline.changes`); after a successful render its results become the
    next render's baseline.
    """
    reports_dir = Path(reports_dir or config.REPORTS_DIR)
    out_dir = reports_dir / "_output"
    engine = choose_engine(engine)
    qmds = sorted(p for p in reports_dir.glob("*.qmd") if not p.name.startswith(("_", ".")))
    if names:
        wanted = {Path(n).stem for n in names}
        unknown = wanted - {q.stem for q in qmds}
        if unknown:
            raise RenderError(f"no report named {sorted(unknown)} in {relative(reports_dir)}")
        qmds = [q for q in qmds if q.stem in wanted]
    started_all = time.perf_counter()
    with build_lock(config.EXECUTED_DIR, lock_timeout(lock_timeout_s), _say), \
            Staging(out_dir) as staging:
        write_provenance(engine)
        current, meta = load_results(), build_meta()
        changes.write_changes(current, meta, compare)
        for qmd in qmds:
            started = time.perf_counter()
            fn = render_with_quarto if engine == "quarto" else render_with_pandoc
            fn(qmd, out_dir, tuple(formats), staging)
            _say(f"{relative(qmd)} ({engine}, {', '.join(formats)}) in "
                 f"{time.perf_counter() - started:.1f} s")
        if notebooks:
            for nb in executed_notebooks():
                render_notebook_html(nb, out_dir, staging)
        written = staging.promote()
        changes.remember(current, meta)
    _say(f"{len(written)} files promoted to {relative(out_dir)} in "
         f"{time.perf_counter() - started_all:.1f} s")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.pipeline.render",
                                     description="Render the Quarto reports.")
    parser.add_argument("names", nargs="*", help="report names (default: all)")
    parser.add_argument("--engine", choices=["auto", "quarto", "pandoc"], default="auto")
    parser.add_argument("--format", default="html,pdf", help="comma-separated: html,pdf")
    parser.add_argument("--reports-dir", default=None,
                        help="directory of the .qmd sources (default: reports/)")
    parser.add_argument("--no-notebooks", action="store_true",
                        help="do not render the executed notebooks to HTML")
    parser.add_argument("--compare", metavar="REF", default=None,
                        help="the 'What changed' appendix compares with REF, a git ref "
                             "(results kept by an earlier render of that commit) or a "
                             "folder of saved results (default: the previous render)")
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    bad = set(formats) - {"html", "pdf"}
    if bad:
        print(f"error: --format: unknown format(s) {sorted(bad)}; use html and/or pdf",
              file=sys.stderr)
        return 2
    kept = "the previous reports are unchanged"
    try:
        with interrupts_raise():
            for path in render(args.names, args.engine, formats,
                               reports_dir=args.reports_dir, notebooks=not args.no_notebooks,
                               compare=args.compare):
                print(relative(path))
    except CompareError as err:
        print(f"error: {err}\n({kept})", file=sys.stderr)
        return 2
    except RenderError as err:
        print(f"error: {err}\n({kept})", file=sys.stderr)
        return 1
    except BuildLocked as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_LOCKED
    except (KeyboardInterrupt, Interrupted) as err:
        what = "SIGINT" if isinstance(err, KeyboardInterrupt) else str(err)
        print(f"error: render interrupted ({what}); {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:
        if err.errno == errno.ENOSPC:
            print(f"error: render: {disk_full_message(err)}", file=sys.stderr)
        else:
            print(f"error: render: {err}; {kept}", file=sys.stderr)
        return EXIT_ENV
    return 0


if __name__ == "__main__":
    sys.exit(main())
