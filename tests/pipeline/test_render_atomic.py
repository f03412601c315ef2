"""Rendering never loses a report: every output is staged and promoted together, or
the previous ones stay byte-identical; dates come from SOURCE_DATE_EPOCH; dotfiles are
never published. Tiny documents keep these fast."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from conftest import PY, env_with

from analysis import config
from analysis.pipeline import provenance, render
from analysis.pipeline.render import RenderError
from analysis.pipeline.runner import BuildLock, BuildLocked, build_lock

PDF_FAILS = """
Only the PDF step fails: typst stops on this raw block, pandoc's HTML ignores it.

```{=typst}
#panic("deliberate typst failure")
```
"""

SLOW_PDF = """
The HTML is quick; typst takes a few seconds over this loop.

```{=typst}
#let n = 0
#for i in range(15000000) { n += 1 }
#n
```
"""


def project(tmp_path: Path, body: str, name: str = "report") -> dict:
    """A reports directory with one .qmd, and previous outputs of it."""
    reports = tmp_path / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "_quarto.yml").write_text("project:\n  type: default\n")
    (reports / "references.bib").write_text("")
    qmd = reports / f"{name}.qmd"
    qmd.write_text(f"---\ntitle: A test report\ndate: last-modified\n---\n{body}")
    out = reports / "_output"
    out.mkdir()
    previous = {out / f"{name}.html": b"<html>previous report</html>\n",
                out / f"{name}.pdf": b"%PDF-1.7 previous report\n"}
    for path, data in previous.items():
        path.write_bytes(data)
        os.utime(path, (1_000_000_000, 1_000_000_000))  # older than the sources
    return {"reports": reports, "qmd": qmd, "out": out, "previous": previous,
            "build": tmp_path / "build"}


def unchanged(files: dict) -> bool:
    return all(p.is_file() and p.read_bytes() == data for p, data in files.items())


def staging_left(p: dict) -> list:
    return sorted(p["reports"].glob(".*staging*")) + sorted(p["out"].glob(".*"))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """config pointed at a temporary build directory (in this process and its children)."""
    build = tmp_path / "build"
    monkeypatch.setenv("ANALYSIS_BUILD_DIR", str(build))
    monkeypatch.setattr(config, "BUILD_DIR", build)
    monkeypatch.setattr(config, "EXECUTED_DIR", build / "notebooks")
    monkeypatch.setattr(config, "RESULTS_DIR", build / "results")
    monkeypatch.setattr(config, "REPORT_BUILD_DIR", build / "report")
    monkeypatch.setattr(config, "PROVENANCE_MD", build / "report" / "provenance.md")
    return build


# --- failures in process ---------------------------------------------------------------

def test_pdf_step_failure_leaves_previous_html_and_pdf(tmp_path, isolated, monkeypatch):
    """typst fails after the HTML was made: neither output is replaced."""
    import typst

    p = project(tmp_path, "\nFine text.\n")

    def broken(*args, **kwargs):
        raise RuntimeError("simulated typst failure")

    monkeypatch.setattr(typst, "compile_with_warnings", broken)
    with pytest.raises(RenderError, match="typst failed .*simulated typst failure"):
        render.render(reports_dir=p["reports"], engine="pandoc", notebooks=False)
    assert unchanged(p["previous"])
    assert not staging_left(p)


def test_render_cli_error_is_one_clear_message(tmp_path, isolated, capsys):
    p = project(tmp_path, "\nSee @fig-missing.\n")
    code = render.main(["--engine", "pandoc", "--reports-dir", str(p["reports"]),
                        "--no-notebooks"])
    err = capsys.readouterr().err
    assert code == 1
    assert "@fig-missing points to no embedded figure" in err
    assert "previous reports are unchanged" in err and "Traceback" not in err
    assert unchanged(p["previous"])


def test_render_disk_full(tmp_path, isolated, monkeypatch, capsys):
    p = project(tmp_path, "\nFine text.\n")
    real_copy = shutil.copyfile

    def no_space(src, dst, *a, **kw):
        if ".staging-" in str(dst) and str(dst).endswith(".pdf"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_copy(src, dst, *a, **kw)

    monkeypatch.setattr(render.shutil, "copyfile", no_space)
    code = render.main(["--engine", "pandoc", "--reports-dir", str(p["reports"]),
                        "--no-notebooks"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "no space left on device while writing" in err
    assert "previous outputs are unchanged" in err
    assert unchanged(p["previous"])
    assert not staging_left(p)


def test_render_waits_for_the_build_lock_or_fails_fast(tmp_path, isolated, capsys):
    p = project(tmp_path, "\nFine text.\n")
    with build_lock(config.EXECUTED_DIR):
        with pytest.raises(BuildLocked, match=f"is locked by pid {os.getpid()}"):
            render.render(reports_dir=p["reports"], engine="pandoc", notebooks=False,
                          lock_timeout_s=0)
    assert unchanged(p["previous"])
    written = render.render(reports_dir=p["reports"], engine="pandoc", notebooks=False,
                            lock_timeout_s=0)
    assert [w.name for w in written] == ["report.html", "report.pdf"]


# --- dates and dotfiles ---------------------------------------------------------------------

def test_dates_honour_source_date_epoch(tmp_path, isolated, monkeypatch):
    """Two renders a minute apart are byte-identical; the PDF's creation date, the
    report's date and the appendix's build date are SOURCE_DATE_EPOCH's."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1737244800")  # 2025-01-19 00:00 UTC
    p = project(tmp_path, "\nFine text.\n")
    render.render(reports_dir=p["reports"], engine="pandoc", notebooks=False)
    first = {f: f.read_bytes() for f in p["previous"]}
    render.render(reports_dir=p["reports"], engine="pandoc", notebooks=False)
    assert {f: f.read_bytes() for f in p["previous"]} == first
    pdf = first[p["out"] / "report.pdf"]
    assert b"D:20250119000000" in pdf or b"2025-01-19T00:00:00" in pdf
    assert "2025-01-19" in first[p["out"] / "report.html"].decode()
    info = provenance.collect(tmp_path / "no-results")
    assert info["built_utc"] == "2025-01-19 00:00:00 UTC"


def test_dotfile_leftovers_are_never_published(tmp_path, isolated):
    executed = isolated / "notebooks"
    results = isolated / "results"
    executed.mkdir(parents=True)
    results.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    for name in ("00_sources.ipynb", ".01_retention.running.ipynb",
                 ".02_dau_forecast.run-123-abcd.ipynb"):
        nbformat.write(nb, executed / name)
    (executed / ".03_x.run-1-ab").mkdir()
    nbformat.write(nb, executed / ".03_x.run-1-ab" / "executed.ipynb")
    (results / "00_sources.json").write_text(json.dumps({"parameters": {"a": 1}}))
    (results / ".01_retention.pending.json").write_text(json.dumps({"parameters": {}}))
    (results / ".00_sources.json.tmp-1").write_text("{}")

    assert [p.name for p in render.executed_notebooks()] == ["00_sources.ipynb"]
    assert list(provenance.load_results(results)) == ["00_sources"]
    p = project(tmp_path, "\nFine text.\n")
    written = render.render(reports_dir=p["reports"], engine="pandoc")
    names = sorted(w.relative_to(p["out"]).as_posix() for w in written)
    assert names == ["notebooks/00_sources.html", "report.html", "report.pdf"]
    published = [q.name for q in p["out"].rglob("*")]
    assert not [n for n in published if n.startswith(".")]
    appendix = config.PROVENANCE_MD.read_text()
    assert "01_retention" not in appendix


# --- through make, with signals -----------------------------------------------------------

def make_project(tmp_path: Path, body: str) -> dict:
    """The project's Makefile in a skeleton tree (no notebooks, one report), using this
    environment's Python; nothing of the real build or reports is touched."""
    p = project(tmp_path, body)
    shutil.copy(config.PROJ_ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "src").symlink_to(config.PROJ_ROOT / "src")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "requirements").mkdir()
    old = (1_000_000_000, 1_000_000_000)
    for f in (tmp_path / "pyproject.toml", tmp_path / "requirements" / "lock.txt"):
        f.write_text("")
        os.utime(f, old)
    stamp = tmp_path / "stamp"
    stamp.write_text("")
    p["make"] = ["make", "--no-print-directory", f"PY={PY}", f"STAMP={stamp}",
                 "SOURCE_DATE_EPOCH=1737244800", "report"]
    p["env"] = env_with(p["build"])
    p["root"] = tmp_path
    return p


@pytest.mark.slow
def test_make_keeps_both_outputs_when_the_pdf_step_fails(tmp_path):
    """With .DELETE_ON_ERROR and the grouped target, make used to delete the PDF (and
    the HTML already replaced) when the render failed."""
    p = make_project(tmp_path, PDF_FAILS)
    proc = subprocess.run(p["make"], cwd=p["root"], env=p["env"], capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "typst failed" in proc.stderr and "deliberate typst failure" in proc.stderr
    assert "previous reports are unchanged" in proc.stderr
    assert "Deleting file" not in proc.stderr
    assert unchanged(p["previous"])
    assert not staging_left(p)


@pytest.mark.slow
@pytest.mark.parametrize("through_make", [False, True], ids=["render", "make"])
def test_sigint_to_the_process_group_during_rendering(tmp_path, through_make):
    """Ctrl-C right after the HTML was made, while typst works on the PDF."""
    p = make_project(tmp_path, SLOW_PDF)
    cmd = p["make"] if through_make else [
        PY, "-m", "analysis.pipeline.render", "--engine", "pandoc", "--reports-dir",
        str(p["reports"]), "--no-notebooks"]
    proc = subprocess.Popen(cmd, cwd=p["root"], env=p["env"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(p["reports"].glob(".*staging*/*report.html")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the HTML was never staged"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "render interrupted (SIGINT); the previous reports are unchanged" in err
    assert not re.search(r"Traceback|KeyboardInterrupt", err), err
    assert "Deleting file" not in err
    assert unchanged(p["previous"])
    assert not staging_left(p)
    # the lock went with the process: the next render is not blocked
    with BuildLock(p["build"] / "notebooks" / ".locks" / "build.lock", "build", timeout=0):
        pass


@pytest.mark.slow
def test_two_make_reports_at_once(tmp_path):
    """Two `make report` in one tree used to delete each other's notebook and PDF."""
    from conftest import leftovers, tiny_notebook

    p = make_project(tmp_path, "\nFine text.\n")
    shutil.rmtree(p["root"] / "notebooks")
    tiny_notebook(p["root"], ["#| label: nap\nimport time\ntime.sleep(3)"])
    (p["root"] / "params").mkdir()
    shutil.copy(config.PARAMS_DIR / "00_sources.yaml", p["root"] / "params")
    makes = [subprocess.Popen(p["make"], cwd=p["root"], env=p["env"], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    logs = []
    for proc in makes:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
        logs.append(out + err)
    both = "\n".join(logs)
    assert both.count("00_sources: done in") == 1, both  # executed once, not twice
    assert "is locked by pid" in both and "up to date by content" in both
    executed = p["build"] / "notebooks" / "00_sources.ipynb"
    assert nbformat.read(executed, as_version=4).metadata["papermill"]["parameters"]
    assert (p["build"] / "results" / "00_sources.json").is_file()
    assert (p["out"] / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert "A test report" in (p["out"] / "report.html").read_text()
    assert (p["out"] / "notebooks" / "00_sources.html").is_file()
    assert not leftovers(p["build"]) and not staging_left(p)
    # the dependency file names make's own target, so make sees its prerequisites
    depfile = (p["build"] / "notebooks" / "00_sources.d").read_text()
    assert depfile.startswith("build/notebooks/00_sources.ipynb: ")
    again = subprocess.run(p["make"], cwd=p["root"], env=p["env"], capture_output=True,
                           text=True)
    assert again.returncode == 0 and "[runner]" not in again.stdout + again.stderr


def test_staging_of_a_killed_render_is_removed(tmp_path, isolated):
    p = project(tmp_path, "\nFine text.\n")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = p["reports"] / f"._output.staging-{dead.pid}-abcd"
    stale.mkdir()
    (stale / "000-report.html").write_text("half a render")
    render.render(reports_dir=p["reports"], engine="pandoc", notebooks=False)
    assert not stale.exists() and not staging_left(p)
