"""Faults during a notebook run: each ends with one clear line, a non-zero exit, no
temporary file left behind, and the previous executed notebook, results and dependency
file byte-identical. Tiny notebooks generated in tmp_path keep these fast."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import (
    PY,
    env_with,
    leftovers,
    previous_outputs,
    run,
    runner_cmd,
    tiny_notebook,
    unchanged,
)

from analysis import config
from analysis.pipeline import runner
from analysis.pipeline.runner import BuildLock, BuildLocked


def sleeper(marker: Path, seconds: float = 60) -> str:
    """A cell that writes the kernel's pid to ``marker``, then sleeps."""
    return (f"#| label: sleeper\nimport os, pathlib, time\n"
            f"pathlib.Path({str(marker)!r}).write_text(str(os.getpid()))\n"
            f"time.sleep({seconds})")


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text():
            return path.read_text()
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended early ({proc.returncode}):\n{err}")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"{path} never appeared")


def gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def setup(tmp_path):
    build = tmp_path / "build"
    return {"tmp": tmp_path, "build": build, "output": build / "notebooks" / "00_sources.ipynb",
            "previous": previous_outputs(build), "env": env_with(build)}


# --- the kernel dies, the user interrupts --------------------------------------------------

@pytest.mark.slow
def test_kill_9_of_the_kernel(setup):
    marker = setup["tmp"] / "kernel.pid"
    nb = tiny_notebook(setup["tmp"], [("markdown", "## before"), sleeper(marker)])
    proc = subprocess.Popen(runner_cmd(nb, setup["output"]), env=setup["env"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kernel = int(wait_for(marker, proc))
    os.kill(kernel, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "the kernel died while running code cell 2 of 3 ('sleeper')" in err
    assert "Traceback" not in err and "DeadKernelError" not in err
    assert unchanged(setup["previous"])
    assert not leftovers(setup["build"])
    assert (setup["build"] / "notebooks" / "failed" / "00_sources.ipynb").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_to_the_process_group_during_execution(setup, sig):
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group."""
    marker = setup["tmp"] / "kernel.pid"
    nb = tiny_notebook(setup["tmp"], [sleeper(marker)])
    proc = subprocess.Popen(runner_cmd(nb, setup["output"]), env=setup["env"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    kernel = int(wait_for(marker, proc))
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"interrupted ({sig.name})" in err and "previous outputs are unchanged" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert unchanged(setup["previous"])
    assert not leftovers(setup["build"])
    assert gone(kernel), "the kernel outlived the interrupted run"


# --- two runs at once --------------------------------------------------------------------

@pytest.mark.slow
def test_two_runs_of_one_output_serialise(setup):
    """The second run waits for the first, naming it, then finds the notebook up to date
    by content; neither deletes the other's outputs. With a zero lock timeout it fails
    at once, naming the holder."""
    marker = setup["tmp"] / "kernel.pid"
    nb = tiny_notebook(setup["tmp"], [sleeper(marker, 8)])
    first = subprocess.Popen(runner_cmd(nb, setup["output"]), env=setup["env"], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(marker, first)
    fail_fast = subprocess.Popen(runner_cmd(nb, setup["output"]), text=True,
                                 env={**setup["env"], "ANALYSIS_LOCK_TIMEOUT": "0"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = subprocess.Popen(runner_cmd(nb, setup["output"]), env=setup["env"], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err0 = fail_fast.communicate(timeout=120)
    _, err1 = first.communicate(timeout=120)
    _, err2 = second.communicate(timeout=120)

    assert fail_fast.returncode == 4, err0
    assert f"is locked by pid {first.pid} on " in err0
    assert "nothing was changed" in err0

    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert f"is locked by pid {first.pid}" in err2 and "waiting for it" in err2
    assert "up to date by content" in err2
    # progress: start and end lines, the slow cell, no kernel-transport noise
    assert "00_sources: started" in err1 and "00_sources: done in" in err1
    assert "code cell 2 of 3 ('sleeper') took 8." in err1
    assert "without encryption" not in err1 + err2
    executed = nbformat.read(setup["output"], as_version=4)
    assert executed.metadata["papermill"]["parameters"]
    results = json.loads((setup["build"] / "results" / "00_sources.json").read_text())
    assert results["notebook"] == "00_sources"
    assert not leftovers(setup["build"])


def test_lock_of_a_dead_holder_does_not_block(tmp_path):
    path = tmp_path / ".locks" / "x.lock"
    holder = subprocess.Popen(
        [PY, "-c", "import sys, time\nfrom analysis.pipeline.runner import BuildLock\n"
         f"BuildLock({str(path)!r}, 'x').acquire()\nprint('held', flush=True)\n"
         "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(BuildLocked, match=rf"x is locked by pid {holder.pid} on .*waited 0 s"):
        BuildLock(path, "x", timeout=0).acquire()
    holder.kill()
    holder.wait()
    with BuildLock(path, "x", timeout=0):  # the kernel released the dead holder's lock
        assert f"pid {os.getpid()}" in path.read_text()


# --- a full disk -------------------------------------------------------------------------

def _tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or sys.platform != "linux":
        return False
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    return proc.returncode == 0


@pytest.mark.slow
def test_full_disk_on_a_small_tmpfs(tmp_path):
    """A real ENOSPC: the build directory is a 1 MB tmpfs and the notebook's output is
    bigger than that."""
    build = tmp_path / "build"
    if not _tmpfs(build, "1m"):
        pytest.skip("cannot mount a tmpfs here (the simulated ENOSPC test covers this)")
    try:
        previous = previous_outputs(build)
        nb = tiny_notebook(tmp_path, ["#| label: big\nprint('x' * 3_000_000)"])
        proc = run(runner_cmd(nb, build / "notebooks" / "00_sources.ipynb"), env=env_with(build))
        assert proc.returncode == 3, proc.stderr
        assert "no space left on device" in proc.stderr
        assert "previous outputs are unchanged" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert unchanged(previous)
        assert not leftovers(build)
    finally:
        subprocess.run(["umount", str(build)], check=False)


def test_simulated_full_disk_while_promoting(setup, monkeypatch, capsys):
    """ENOSPC while the finished copy is written: nothing promoted, nothing left."""
    nb = tiny_notebook(setup["tmp"], ["x = 1"])
    monkeypatch.setattr(config, "BUILD_DIR", setup["build"])
    monkeypatch.setattr(config, "EXECUTED_DIR", setup["build"] / "notebooks")
    monkeypatch.setattr(config, "RESULTS_DIR", setup["build"] / "results")
    monkeypatch.setenv("ANALYSIS_BUILD_DIR", str(setup["build"]))

    def no_space(nb_node, path, *a, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(runner.nbformat, "write", no_space)
    code = runner.main(runner_cmd(nb, setup["output"])[3:])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "no space left on device while writing build/notebooks/.00_sources.run-" in err
    assert unchanged(setup["previous"])
    assert not leftovers(setup["build"])


@pytest.mark.slow
def test_full_disk_inside_the_kernel_is_named(setup):
    nb = tiny_notebook(setup["tmp"], [
        "#| label: write-data\nraise OSError(28, 'No space left on device', 'big.parquet')"])
    proc = run(runner_cmd(nb, setup["output"]), env=setup["env"])
    assert proc.returncode == 1, proc.stderr
    assert "failed in code cell 2 of 3 ('write-data')" in proc.stderr
    assert "the disk is full" in proc.stderr
    assert unchanged(setup["previous"])
    assert not leftovers(setup["build"])


# --- failing cells, named among the code cells ------------------------------------------------

@pytest.mark.slow
def test_failing_cell_named_by_label_and_code_cell_number(setup):
    nb = tiny_notebook(setup["tmp"], [
        ("markdown", "## one"), "a = 1", ("markdown", "## two"), ("markdown", "## three"),
        "#| label: tbl-boom\n#| tbl-cap: x\n1 / 0", "b = 2"])
    proc = run(runner_cmd(nb, setup["output"]), env=setup["env"])
    assert proc.returncode == 1
    # the parameters cell is code cell 1; markdown and the injected cell do not count
    assert "failed in code cell 3 of 5 ('tbl-boom'): ZeroDivisionError" in proc.stderr
    assert unchanged(setup["previous"])
    assert not leftovers(setup["build"])


def test_code_cell_map_skips_markdown_and_injected():
    cells = [nbformat.v4.new_markdown_cell("# t"),
             nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["injected-parameters"]}),
             nbformat.v4.new_code_cell("#| label: fig-a\nplot()"),
             nbformat.v4.new_code_cell("\n\nprint('no label')")]
    mapping = runner.code_cell_map(cells)
    assert runner.describe_cell(mapping, 3) == "code cell 2 of 3 ('fig-a')"
    assert runner.describe_cell(mapping, 4) == "code cell 3 of 3 ('print('no label')')"
    assert runner.describe_cell(mapping, 2) == "papermill's injected parameters cell"


# --- rebuild by content ----------------------------------------------------------------

@pytest.mark.slow
def test_rebuild_by_content(setup):
    data = setup["tmp"] / "input.csv"
    data.write_text("a\n1\n")
    nb = tiny_notebook(setup["tmp"], [
        f"#| label: read\nfrom analysis._io import record_read\nrecord_read({str(data)!r})"])
    cmd = runner_cmd(nb, setup["output"])
    first = run(cmd, env=setup["env"])
    assert first.returncode == 0 and "done in" in first.stderr, first.stderr
    executed = setup["output"].read_bytes()

    os.utime(nb)  # touched, not changed: make would re-run it; the runner does not
    again = run(cmd, env=setup["env"])
    assert again.returncode == 0
    assert "up to date by content" in again.stderr and "done in" not in again.stderr
    assert setup["output"].read_bytes() == executed
    assert setup["output"].stat().st_mtime >= nb.stat().st_mtime  # make is satisfied

    data.write_text("a\n2\n")  # a data file it read changed
    changed = run(cmd, env=setup["env"])
    assert "done in" in changed.stderr, changed.stderr
    forced = run([*cmd, "--force"], env=setup["env"])
    assert "done in" in forced.stderr
    results = json.loads((setup["build"] / "results" / "00_sources.json").read_text())
    inputs = results["provenance"]["inputs"]
    assert "parameter values" in inputs and "src/analysis/pipeline/results.py" in inputs
    assert any(k.endswith("input.csv") for k in inputs)


# --- notebooks executed outside the runner ------------------------------------------------

def test_interactive_save_never_touches_build_results(tmp_path, monkeypatch, capsys):
    from analysis.pipeline.results import RESULTS_PATH_ENV, Results

    monkeypatch.delenv(RESULTS_PATH_ENV, raising=False)
    monkeypatch.setattr(config, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path / "build" / "results")
    res = Results("00_sources")
    res.number("n", 1, "one")
    path = res.save()
    assert path == tmp_path / "build" / "interactive" / "00_sources.json"
    assert not (tmp_path / "build" / "results").exists()
    err = capsys.readouterr().err
    assert "Results saved to build/interactive/00_sources.json" in err
    assert "written only by the runner" in err


@pytest.mark.slow
def test_plain_papermill_run_writes_interactive_results(setup):
    nb = tiny_notebook(setup["tmp"], ["x = 1"])
    out = setup["tmp"] / "plain.ipynb"
    proc = run([PY, "-c", "import papermill, sys\n"
                f"papermill.execute_notebook({str(nb)!r}, {str(out)!r}, progress_bar=False)"],
               env=setup["env"])
    assert proc.returncode == 0, proc.stderr
    assert unchanged(setup["previous"])
    assert (setup["build"] / "interactive" / "00_sources.json").is_file()


# --- reproducible executed copies ---------------------------------------------------------

def test_normalise_executed_removes_paths_and_times(monkeypatch, tmp_path):
    build = tmp_path / "b"
    monkeypatch.setattr(config, "BUILD_DIR", build)
    root = str(config.PROJ_ROOT)
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"start_time": "t0", "end_time": "t1", "duration": 1.0,
                                "input_path": f"{root}/notebooks/x.ipynb"}
    cell = nbformat.v4.new_code_cell("print(p)")
    cell.metadata["papermill"] = {"start_time": "t", "duration": 2.0, "status": "completed"}
    cell.metadata["execution"] = {"iopub.status.busy": "t"}
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout",
                               text=f"PosixPath('{build}/data/p.parquet')\n{root}\n"),
        nbformat.v4.new_output("stream", name="stderr",
                               text=f"{sys.prefix}/lib/python3/tqdm/auto.py:21: TqdmWarning\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": f"{root}/src/a.py",
                                                     "image/png": "iVBOR"})]
    injected = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["injected-parameters"]})
    nb.cells = [cell, injected]
    runner.normalise_executed(nb, config.PROJ_ROOT / "notebooks" / "x.ipynb",
                              build / "notebooks" / "x.ipynb", source_has_ids=True)
    text = json.dumps(nb)
    assert root not in text and str(build) not in text
    assert "t0" not in text and "duration" not in text and "iopub" not in text
    assert nb.cells[0].outputs[0]["text"] == "PosixPath('build/data/p.parquet')\n.\n"
    prefix = Path(sys.prefix).resolve()
    expected_env = ".venv" if prefix.is_relative_to(config.PROJ_ROOT) else "<python-env>"
    assert nb.cells[0].outputs[1]["text"].startswith(expected_env + "/lib/python3/tqdm")
    assert nb.cells[0].outputs[2]["data"]["text/plain"] == "src/a.py"
    assert nb.metadata["papermill"]["input_path"] == "notebooks/x.ipynb"
    assert nb.metadata["papermill"]["output_path"] == "build/notebooks/x.ipynb"
    assert nb.cells[1]["id"] == "injected-parameters"
    assert runner.scrub_text(f"{root}mainframe/x") == f"{root}mainframe/x"  # not a prefix


@pytest.mark.slow
def test_two_notebooks_of_one_directory_at_once(setup):
    """`make -j`: two kernels started from one directory at the same time. (Their IPC
    sockets once had the same relative name: the kernels answered each other.)"""
    names = ("00_sources", "03_merchant_adoption")
    procs = []
    for name in names:
        marker = setup["tmp"] / f"{name}.pid"
        nb = tiny_notebook(setup["tmp"], [sleeper(marker, 3)], name=name)
        procs.append(subprocess.Popen(
            runner_cmd(nb, setup["build"] / "notebooks" / f"{name}.ipynb", name=name),
            env=setup["env"], text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Invalid Signature" not in err and "ERROR" not in err
    pids = {(setup["tmp"] / f"{n}.pid").read_text() for n in names}
    assert len(pids) == 2
    for name in names:
        results = json.loads((setup["build"] / "results" / f"{name}.json").read_text())
        assert results["notebook"] == name
    assert not leftovers(setup["build"])
    assert not list((setup["tmp"] / "notebooks").glob("kernel*"))


@pytest.mark.slow
def test_precompile_for_make_install():
    proc = run([PY, "-m", "analysis.pipeline.runner", "--precompile"])
    assert proc.returncode == 0, proc.stderr
    assert "[install] byte-compiled" in proc.stderr
    missing = run([PY, "-m", "analysis.pipeline.runner"])
    assert missing.returncode == 2 and "the notebook is required" in missing.stderr
