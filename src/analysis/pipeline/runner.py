"""Execute a notebook with papermill from a validated parameter file.

    python -m analysis.pipeline.runner notebooks/00_sources.ipynb --params params/00_sources.yaml

What it guarantees:

- the parameters are checked against the notebook's schema (:mod:`analysis.pipeline.params`)
  before a kernel starts, and the notebook's ``parameters`` cell must declare exactly the
  schema's keys;
- the notebook runs top to bottom in a fresh kernel of the project's environment
  (kernel ``rednote-analysis``, over the IPC transport) and the executed copy goes to the
  build directory, never over the source;
- **nothing is lost**: everything a run writes goes first to a private temporary
  directory beside the output (``.<name>.run-<pid>-<random>/``); the executed notebook,
  its results file (``build/results/<name>.json``, or ``<output>.results.json`` for an
  executed copy written outside ``build/notebooks/``) and its make dependency file replace
  the previous ones together, only when every cell succeeded, with SIGINT/SIGTERM held
  off while they are renamed into place. A failing cell, a dead kernel, a timeout,
  Ctrl-C, SIGTERM or a full disk removes the temporary directory, prints one line that
  says what happened, exits non-zero and leaves the previous notebook, results and
  reports byte-identical. A failed run's executed copy is kept under ``failed/``;
- **one run per output at a time**: a run holds an exclusive ``flock`` on
  ``<output dir>/.locks/<name>.lock`` (the file names the holder: pid, host, start time,
  command); a second run of the same output waits for it, saying whom it waits for (or,
  with ``--lock-timeout``/``ANALYSIS_LOCK_TIMEOUT``, gives up after that many seconds with
  exit code 4). The kernel releases the lock of a dead holder, so a crashed run never
  blocks the next one. Promotion also holds ``<output dir>/.locks/build.lock``, which the
  renderer holds while it reads the executed notebooks, so a report never mixes two runs;
- **rebuild by content**: when the content hashes of every recorded input of the last
  successful run (the notebook, the parameter values, the ``analysis`` modules it
  imported, the data files it read, the dependency lock) are unchanged, the notebook is
  not executed again ("up to date by content"; ``--force`` executes anyway);
- **reproducible to the byte**: the executed copy is normalised: absolute paths of the
  project, the build directory and the Python environment are written relative
  (``build/...``, ``src/...``, ``<python-env>/...``), papermill's wall-clock timestamps
  are removed and the injected cell gets a fixed id. The one declared place for
  wall-clock times is the results file (``provenance.executed_utc``, ``saved_utc`` and
  ``timing``);
- a make dependency file (``build/notebooks/<name>.d``) lists the ``analysis`` modules
  the notebook imported and the data files it read, so that ``make`` re-executes a
  notebook when one of those changes;
- progress in a plain log: one line when a notebook starts and when it ends, one line for
  each cell that took more than a few seconds, and a line every 30 s while a cell runs.

Exit codes: 0 success (or up to date), 1 a cell failed / the kernel died / a cell timed
out, 2 bad parameters or notebook, 3 environment (no kernel, disk full, I/O error),
4 another run holds the lock (after ``--lock-timeout``), 130 interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from analysis import config
from analysis._io import relative, sha256
from analysis.pipeline.params import ParameterError, load_params
from analysis.pipeline.provenance import display_path, locate
from analysis.pipeline.results import RESULTS_PATH_ENV

# jsonschema (imported by nbformat) compiles rfc3987_syntax's grammar on import: 2 s per
# process for an IRI format check nbformat never uses. Skipping it is safe.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

#: Bump when the executed copy's format changes, so that old copies are re-executed.
RUNNER_FORMAT = "2"
#: Cells that run longer than this get a progress line of their own.
SLOW_CELL_SECONDS = 5.0
#: While a cell runs, a "still running" line this often.
HEARTBEAT_SECONDS = 30.0
LOCK_TIMEOUT_ENV = "ANALYSIS_LOCK_TIMEOUT"
INJECTED_TAG = "injected-parameters"

EXIT_FAILED, EXIT_PARAMS, EXIT_ENV, EXIT_LOCKED, EXIT_INTERRUPTED = 1, 2, 3, 4, 130


class NotebookFailed(RuntimeError):
    """A cell of the notebook raised (or the kernel died); the message names the cell."""


class BuildLocked(RuntimeError):
    """Another process holds the lock; the message names it."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; raised like KeyboardInterrupt."""


def log(message: str) -> None:
    """One progress line on stderr: ``[runner] HH:MM:SS message``."""
    print(f"[runner] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- Locks ------------------------------------------------------------------------------

class BuildLock:
    """An exclusive ``flock`` on ``path``; the file names the holder.

    ``timeout``: seconds to wait for a live holder (``None``: as long as it takes, saying
    whom we wait for; ``0``: fail at once). The operating system releases the lock when
    its holder dies, whatever the way, so a stale lock file never blocks anybody.
    """

    def __init__(self, path: Path, what: str, timeout: float | None = None,
                 say=log):
        self.path, self.what, self.timeout, self.say = Path(path), what, timeout, say
        self.fd: int | None = None

    def holder(self) -> str:
        try:
            text = self.path.read_text().strip()
        except OSError:
            text = ""
        return text or "another process (it has not written its name yet)"

    def acquire(self) -> BuildLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise BuildLocked(
                            f"{self.what} is locked by {self.holder()} (lock file "
                            f"{relative(self.path)}); waited {self.timeout:g} s. Let that "
                            "build finish, or stop it; nothing was changed") from None
                    if not told:
                        self.say(f"{self.what} is locked by {self.holder()}; waiting for it "
                                 f"(set {LOCK_TIMEOUT_ENV}=0 to fail instead)")
                        told = True
                    time.sleep(0.2)
        except BaseException:
            os.close(fd)
            raise
        argv = " ".join(shlex.quote(a) for a in sys.argv) or sys.executable
        info = (f"pid {os.getpid()} on {socket.gethostname()} since "
                f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')} ({argv})")
        os.ftruncate(fd, 0)
        os.pwrite(fd, (info + "\n").encode(), 0)
        self.fd = fd
        if told:
            self.say(f"{self.what}: lock acquired")
        return self

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing releases the flock
            self.fd = None

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_dir(output_dir: Path) -> Path:
    return Path(output_dir) / ".locks"


def build_lock(output_dir: Path, timeout: float | None = None, say=log) -> BuildLock:
    """The lock that promotion and rendering hold: nobody reads half-promoted runs."""
    return BuildLock(lock_dir(output_dir) / "build.lock",
                     f"the build in {relative(output_dir)}", timeout, say)


def lock_timeout(value: float | None = None) -> float | None:
    """``value``, else ``$ANALYSIS_LOCK_TIMEOUT`` (seconds), else wait without limit."""
    if value is not None:
        return value
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise ParameterError(f"{LOCK_TIMEOUT_ENV}={raw!r}: expected a number of "
                             "seconds") from None


@contextlib.contextmanager
def signals_held():
    """Hold off SIGINT/SIGTERM/SIGHUP (delivered on exit) while files are renamed."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def interrupts_raise():
    """SIGTERM and SIGHUP raise :class:`Interrupted` (SIGINT raises KeyboardInterrupt)."""
    def handler(signum, frame):
        raise Interrupted(signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def move_into_place(src: Path, dest: Path) -> None:
    """``os.replace``, or copy beside ``dest`` then replace when on another filesystem."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dest)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)


def disk_full_message(err: OSError) -> str:
    where = f" while writing {display_path(err.filename)}" if err.filename else ""
    return (f"no space left on device{where}; the temporary files were removed and the "
            "previous outputs are unchanged. Free some space and run again")


# --- Notebook inspection ----------------------------------------------------------------

def parameters_cell_names(notebook: Path) -> list[str]:
    """Names assigned in the notebook's single ``parameters`` cell (ParameterError otherwise)."""
    import papermill

    nb = nbformat.read(notebook, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells)
              if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ParameterError(f"{relative(notebook)}: expected exactly one cell tagged "
                             f"'parameters', found {len(tagged)}")
    return list(papermill.inspect_notebook(str(notebook)).keys())


def check_kernel(name: str = config.KERNEL_NAME) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        raise OSError(
            f"Jupyter kernel {name!r} is not registered for this environment; "
            "run `make install` (it runs `python -m ipykernel install --sys-prefix "
            f"--name {name}`)")


def _cell_label(source: str) -> str:
    """A cell's ``#| label:``, else its first non-empty line (shortened)."""
    for line in source.splitlines():
        if line.startswith("#| label:"):
            return line.split(":", 1)[1].strip()
    first = next((ln for ln in source.splitlines() if ln.strip()), "")
    return first[:60]


def code_cell_map(cells) -> list[tuple[int | None, str]]:
    """Per cell of an executed notebook: (1-based number among the notebook's own code
    cells, label). Markdown cells and papermill's injected cell get ``None``."""
    out, n = [], 0
    for cell in cells:
        injected = INJECTED_TAG in cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") == "code" and not injected:
            n += 1
            out.append((n, _cell_label(cell.get("source", ""))))
        else:
            out.append((None, "papermill's injected parameters" if injected else ""))
    return out


def describe_cell(cells_map, index: int | None) -> str:
    """'code cell 5 of 12 (label 'fig-x')' for an index among all executed cells."""
    if index is None or not cells_map or not 0 <= index < len(cells_map):
        return "an unknown cell"
    number, label = cells_map[index]
    total = sum(1 for n, _ in cells_map if n is not None)
    if number is None:
        return f"{label} cell" if label else f"cell {index}"
    return f"code cell {number} of {total} ('{label}')"


# --- Execution --------------------------------------------------------------------------

class _RunState:
    """What the engine reports back: the cell being executed, for messages and progress."""

    def __init__(self, name: str, progress: bool):
        self.name, self.progress = name, progress
        self.cells: list[tuple[int | None, str]] = []
        self.current: int | None = None  # the cell running now (None between cells)
        self.last_started: int | None = None  # the cell started last (for error messages)
        self.started_cell = 0.0
        self.cell_seconds: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        if self.progress:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        told: dict[int, int] = {}
        while not self._stop.wait(1.0):
            index = self.current
            if index is None:
                continue
            elapsed = time.perf_counter() - self.started_cell
            beats = int(elapsed // HEARTBEAT_SECONDS)
            if beats > told.get(index, 0):
                told[index] = beats
                log(f"{self.name}: {describe_cell(self.cells, index)} still running "
                    f"({beats * HEARTBEAT_SECONDS:.0f} s)")


def _engine_class():
    """A papermill engine that reports cell progress and uses the IPC transport."""
    from jupyter_client import AsyncKernelManager
    from papermill.engines import NBClientEngine
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        """Kernel over Unix sockets: no TCP port, no 'running over TCP' warning.

        The sockets live in a private directory of this run (``socket_dir``, short so that
        the path fits a Unix socket name): with the default relative name two kernels
        started in one directory, as ``make -j`` does, would bind the same sockets."""

        socket_dir: str = ""

        @default("transport")
        def _transport_default(self):
            return "ipc"

        @default("ip")
        def _ip_default(self):
            return str(Path(self.socket_dir) / "kernel")

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, run_state=None, **kwargs):
            sockets = tempfile.mkdtemp(prefix="analysis-kernel-")
            manager = type("RunKernelManager", (IPCKernelManager,), {"socket_dir": sockets})
            try:
                return cls._execute(nb_man, kernel_name, run_state, manager, **kwargs)
            finally:
                shutil.rmtree(sockets, ignore_errors=True)

        @classmethod
        def _execute(cls, nb_man, kernel_name, run_state, manager, **kwargs):
            state: _RunState = run_state
            state.cells = code_cell_map(nb_man.nb.cells)
            cell_start, cell_complete = nb_man.cell_start, nb_man.cell_complete

            def on_start(cell, cell_index=None, **kw):
                state.current, state.started_cell = cell_index, time.perf_counter()
                state.last_started = cell_index
                return cell_start(cell, cell_index, **kw)

            def on_complete(cell, cell_index=None, **kw):
                seconds = time.perf_counter() - state.started_cell
                state.cell_seconds[cell_index] = seconds
                state.current = None
                if state.progress and seconds >= SLOW_CELL_SECONDS:
                    log(f"{state.name}: {describe_cell(state.cells, cell_index)} took "
                        f"{seconds:.1f} s")
                return cell_complete(cell, cell_index, **kw)

            nb_man.cell_start, nb_man.cell_complete = on_start, on_complete
            kwargs.setdefault("kernel_manager_class", manager)
            kwargs.setdefault("record_timing", False)
            # Kill the kernel once done (or interrupted) instead of interrupting it first:
            # an interrupted kernel prints a traceback of its own while it shuts down.
            kwargs.setdefault("shutdown_kernel", "immediate")
            state.start_heartbeat()
            try:
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            finally:
                state.stop_heartbeat()

    return Engine


_ENGINE_NAME = "analysis-runner"


def _register_engine() -> None:
    from papermill.engines import papermill_engines

    if _ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(_ENGINE_NAME, _engine_class())


# --- Normalisation of the executed copy -------------------------------------------------

def _path_rules() -> list[tuple[re.Pattern, str, str]]:
    """(pattern, replacement when followed by '/', replacement of the bare path)."""
    root = config.PROJ_ROOT.resolve()
    build = config.BUILD_DIR.resolve()
    env = Path(sys.prefix).resolve()
    rules = []
    if not build.is_relative_to(root):
        rules.append((build, "build/", "build"))
    if not env.is_relative_to(root):
        rules.append((env, "<python-env>/", "<python-env>"))
    rules.append((root, "", "."))
    out = []
    for path, with_slash, bare in sorted(rules, key=lambda r: -len(str(r[0]))):
        pattern = re.compile(re.escape(str(path)) + r"(/|(?![\w.-]))")
        out.append((pattern, with_slash, bare))
    return out


def scrub_text(text: str, rules=None, replacements: dict | None = None) -> str:
    """Absolute paths of the project, build directory and environment, made relative
    (after the exact ``replacements``, such as the run's temporary results path)."""
    for old, new in (replacements or {}).items():
        text = text.replace(old, new)
    for pattern, with_slash, bare in rules or _path_rules():
        text = pattern.sub(lambda m, ws=with_slash, b=bare: ws if m.group(1) else b, text)
    return text


def _scrub_value(value, rules, replacements=None):
    if isinstance(value, str):
        return scrub_text(value, rules, replacements)
    if isinstance(value, list):
        return [_scrub_value(v, rules, replacements) for v in value]
    return value


def normalise_executed(nb, notebook: Path, output: Path, source_has_ids: bool,
                       replacements: dict | None = None) -> None:
    """Make the executed copy byte-identical across clones, build directories and runs.

    ``replacements``: exact strings to replace first (the run's temporary paths by the
    final ones)."""
    rules = _path_rules()
    meta = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration"):
        meta.pop(key, None)
    meta["input_path"] = display_path(notebook)
    meta["output_path"] = display_path(output)
    ids = set()
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        pm = cell.metadata.get("papermill")
        if isinstance(pm, dict):
            for key in ("start_time", "end_time", "duration"):
                pm.pop(key, None)
        if INJECTED_TAG in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        elif not source_has_ids:
            cell["id"] = f"cell-{i}"
        if cell["id"] in ids:  # a clash with a source id: still deterministic
            cell["id"] = f"cell-{i}"
        ids.add(cell["id"])
        for out in cell.get("outputs", []):
            for key in ("text", "evalue", "traceback"):
                if key in out:
                    out[key] = _scrub_value(out[key], rules, replacements)
            for mime in list(out.get("data", {})):
                if mime.startswith("text/"):
                    out["data"][mime] = _scrub_value(out["data"][mime], rules, replacements)


# --- Content hashes ---------------------------------------------------------------------

def _digest_file(display: str) -> str:
    path = locate(display)
    try:
        return sha256(path)
    except OSError:
        return "missing"


def _digest_values(values: dict) -> str:
    blob = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _static_inputs(notebook: Path, values: dict) -> dict[str, str]:
    inputs = {"runner format": RUNNER_FORMAT,
              display_path(notebook): sha256(notebook),
              "parameter values": _digest_values(values)}
    lock = config.PROJ_ROOT / "requirements" / "lock.txt"
    if lock.is_file():
        inputs[display_path(lock)] = sha256(lock)
    return inputs


def recorded_inputs(notebook: Path, values: dict, results: dict) -> dict[str, str]:
    """Every input of a finished run with its content hash (stored in its results)."""
    inputs = _static_inputs(notebook, values)
    prov = results.get("provenance", {})
    for module in prov.get("modules", []):
        inputs[module] = _digest_file(module)
    # The data files' hashes as the kernel saw them when it read them.
    inputs.update(prov.get("files_read", {}))
    return dict(sorted(inputs.items()))


def up_to_date(notebook: Path, values: dict, output: Path, results_path: Path) -> str | None:
    """Why the last successful run still stands, or None if the notebook must run."""
    if not (output.is_file() and results_path.is_file()):
        return None
    try:
        previous = json.loads(results_path.read_text())
    except (OSError, ValueError):
        return None
    recorded = previous.get("provenance", {}).get("inputs")
    if not isinstance(recorded, dict) or not recorded:
        return None
    current = _static_inputs(notebook, values)
    if not set(current) <= set(recorded):  # another notebook, or no lock file before
        return None
    for key, digest in recorded.items():
        now = current.get(key)
        if now is None:
            now = _digest_file(key)
        if now != digest:
            return None
    n_mod = len(previous["provenance"].get("modules", []))
    n_data = len(previous["provenance"].get("files_read", {}))
    return (f"notebook, parameter values, {n_mod} modules and {n_data} data files unchanged "
            "since the last successful run")


# --- The run ----------------------------------------------------------------------------

#: Parameters naming a data source (an observed log): resolved against the working
#: directory of the run, because the kernel runs in the notebook's directory.
SOURCE_KEYS = ("source", "merchant_source", "effort_source")


def _results_path(output: Path) -> Path:
    # Results of the build's own notebooks go to build/results/ (which the reports and
    # the provenance appendix read); a run written elsewhere keeps its results beside it.
    if output.parent == config.EXECUTED_DIR.resolve():
        return config.RESULTS_DIR / f"{output.stem}.json"
    return output.with_suffix(".results.json")


def _remove_stale(output: Path, results_path: Path) -> None:
    """Temporary files of runs of this output that died (we hold its lock: none live)."""
    stem = output.stem
    for stale in output.parent.glob(f".{stem}.run-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for old in (output.with_name(f".{stem}.running.ipynb"),
                results_path.with_name(f".{stem}.pending.json")):
        old.unlink(missing_ok=True)  # names used by earlier versions of the runner


def run_notebook(
    notebook: str | Path,
    params_file: str | Path | None = None,
    output: str | Path | None = None,
    timeout: int = 1800,
    progress: bool | None = None,
    force: bool = False,
    lock_timeout_s: float | None = None,
) -> Path:
    """Execute one notebook; returns the path of the executed copy.

    Raises ParameterError (bad parameters or parameters cell), OSError (no kernel, disk
    full), BuildLocked, NotebookFailed (a cell raised, the kernel died or a cell timed
    out; the executed copy is kept), KeyboardInterrupt or :class:`Interrupted`. In every
    case but success the previous outputs are unchanged and no temporary file is left.
    """
    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise ParameterError(f"{notebook}: no such notebook")
    name = notebook.stem
    params_file = Path(params_file) if params_file else config.PARAMS_DIR / f"{name}.yaml"
    # Absolute: the kernel runs in the notebook's directory, not in the caller's.
    output = (Path(output) if output else config.EXECUTED_DIR / f"{name}.ipynb").resolve()
    results_path = _results_path(output)
    progress = True if progress is None else progress

    params = load_params(params_file, notebook)
    declared = set(parameters_cell_names(notebook))
    expected = set(type(params).model_fields)
    if declared != expected:
        missing, extra = sorted(expected - declared), sorted(declared - expected)
        raise ParameterError(
            f"{relative(notebook)}: the 'parameters' cell and the schema "
            f"{type(params).__name__} disagree (missing in the cell: {missing or 'none'}; "
            f"not in the schema: {extra or 'none'})")
    values = params.model_dump(mode="json")
    for key in SOURCE_KEYS:  # a log's path is relative to the caller's directory, as typed
        if values.get(key) not in (None, "simulated") and "://" not in values[key]:
            values[key] = os.path.abspath(os.path.expanduser(values[key]))
    wait = lock_timeout(lock_timeout_s)

    output.parent.mkdir(parents=True, exist_ok=True)
    with interrupts_raise(), BuildLock(lock_dir(output.parent) / f"{output.stem}.lock",
                                       relative(output), wait):
        _remove_stale(output, results_path)
        if not force:
            why = up_to_date(notebook, values, output, results_path)
            if why:
                now = time.time()
                for path in (results_path, output.with_suffix(".d"), output):
                    with contextlib.suppress(OSError):
                        os.utime(path, (now, now))  # make: newer than its inputs now
                log(f"{name}: up to date by content ({why}); not executed "
                    "(--force executes anyway)")
                return output
        check_kernel()
        return _execute(notebook, name, params_file, values, output, results_path,
                        timeout, progress, wait)


def _execute(notebook, name, params_file, values, output, results_path, timeout, progress,
             wait) -> Path:
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    work = output.parent / f".{output.stem}.run-{os.getpid()}-{secrets.token_hex(4)}"
    work.mkdir()
    running = work / "executed.ipynb"
    pending = work / "results.json"
    state = _RunState(name, progress)
    log(f"{name}: started ({relative(notebook)} with {relative(params_file)} -> "
        f"{relative(output)})")
    started_utc = datetime.now(UTC)
    started = time.perf_counter()
    old_env = os.environ.get(RESULTS_PATH_ENV)
    os.environ[RESULTS_PATH_ENV] = str(pending)
    try:
        try:
            papermill.execute_notebook(
                str(notebook), str(running), parameters=values,
                kernel_name=config.KERNEL_NAME, cwd=str(notebook.parent),
                execution_timeout=timeout, progress_bar=False, engine_name=_ENGINE_NAME,
                run_state=state,
            )
        except PapermillExecutionError as err:
            where = describe_cell(state.cells, err.cell_index)
            if err.ename == "KeyboardInterrupt":
                raise KeyboardInterrupt from None
            failed = _keep_failed(running, output)
            hint = ""
            if "Errno 28" in str(err.evalue) or "No space left" in str(err.evalue):
                hint = " (the disk is full: free some space and run again)"
            raise NotebookFailed(
                f"notebook {relative(notebook)} failed in {where}: "
                f"{err.ename}: {err.evalue}{hint}\n"
                f"The executed copy is kept for inspection at {relative(failed)}; the "
                "previous executed notebook, results and reports are unchanged."
            ) from None
        except DeadKernelError:
            failed = _keep_failed(running, output)
            raise NotebookFailed(
                f"notebook {relative(notebook)}: the kernel died while running "
                f"{describe_cell(state.cells, state.last_started)} (killed, or out of "
                "memory); "
                f"the executed copy so far is kept at {relative(failed)}; the previous "
                "executed notebook, results and reports are unchanged.") from None
        except CellTimeoutError:
            failed = _keep_failed(running, output)
            raise NotebookFailed(
                f"notebook {relative(notebook)}: "
                f"{describe_cell(state.cells, state.last_started)}"
                f" ran longer than the timeout of {timeout} s; the executed copy so far is "
                f"kept at {relative(failed)}; the previous outputs are unchanged.") from None
        finally:
            if old_env is None:
                os.environ.pop(RESULTS_PATH_ENV, None)
            else:
                os.environ[RESULTS_PATH_ENV] = old_env

        if not pending.is_file():
            failed = _keep_failed(running, output)
            raise NotebookFailed(f"notebook {relative(notebook)} ran but never called "
                                 "Results.save(): no results were recorded; the executed "
                                 f"copy is kept at {relative(failed)}")
        seconds = time.perf_counter() - started
        results = json.loads(pending.read_text())
        results["parameters"] = values
        results["provenance"].update(
            params_file=display_path(params_file), notebook=display_path(notebook),
            executed_utc=started_utc.isoformat(timespec="seconds"),
            timing={"seconds": round(seconds, 1), "slow_cells": {
                describe_cell(state.cells, i): round(s, 1)
                for i, s in sorted(state.cell_seconds.items()) if s >= SLOW_CELL_SECONDS}},
        )
        results["provenance"]["inputs"] = recorded_inputs(notebook, values, results)

        # Everything is written inside `work` first; a full disk fails here, harmlessly.
        final_results = work / "results.final.json"
        final_results.write_text(json.dumps(results, indent=2, ensure_ascii=False,
                                            default=str) + "\n")
        executed = nbformat.read(running, as_version=4)
        source_has_ids = all("id" in c for c in
                             json.loads(notebook.read_text()).get("cells", []))
        normalise_executed(executed, notebook, output, source_has_ids,
                           {str(pending): display_path(results_path),
                            str(work): display_path(output.parent)})
        final_nb = work / "final.ipynb"
        nbformat.write(executed, final_nb)
        depfile = work / "deps.d"
        depfile.write_text(_depfile_text(output, results))

        with build_lock(output.parent, wait), signals_held():
            move_into_place(final_results, results_path)
            move_into_place(depfile, output.with_suffix(".d"))
            move_into_place(final_nb, output)
        log(f"{name}: done in {seconds:.1f} s")
        return output
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _keep_failed(running: Path, output: Path) -> Path:
    """Move a failed run's executed copy to ``failed/<name>.ipynb`` beside ``output``."""
    failed = output.parent / "failed" / f"{output.stem}.ipynb"
    with contextlib.suppress(OSError):  # a copy for inspection: never worth a new error
        failed.parent.mkdir(parents=True, exist_ok=True)
        if running.is_file():
            move_into_place(running, failed)
    return failed


def _make_name(path: Path) -> str:
    """A path as make, running in the current directory, names it."""
    path = Path(path).resolve()
    cwd = Path.cwd().resolve()
    return path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else path.as_posix()


def _depfile_text(output: Path, results: dict) -> str:
    """Make rules: the executed notebook depends on what it actually imported and read.

    Paths are named as make names them from the directory it runs the runner in (the
    project root for the Makefile), so that the rules attach to make's own target."""
    prov = results["provenance"]
    deps = [_make_name(locate(d)) for d in [*prov["modules"], *prov["files_read"]]]
    target = _make_name(output)
    lines = [f"{target}: " + " \\\n  ".join(deps), ""]
    # An empty rule per dependency, so that a deleted module does not break make.
    lines += [f"{d}:" for d in deps]
    return "\n".join(lines) + "\n"


def precompile() -> int:
    """Byte-compile every module a build imports (runner, renderer, kernel, notebooks).

    ``make install`` runs this once after ``pip install --no-compile``: compiling only
    what is imported is a fraction of compiling every installed file, and the ``.pyc``
    files are written even where ``PYTHONDONTWRITEBYTECODE`` is set (which would
    otherwise make every process compile pandas, scipy and matplotlib anew). Best
    effort: a module that fails to import is skipped. Returns the number compiled.
    """
    import importlib
    import importlib.util
    import pkgutil
    import py_compile

    import analysis

    wanted = ["analysis.pipeline.render", "papermill", "nbclient", "ipykernel.kernelapp",
              "ipykernel.ipkernel", "matplotlib.pyplot", "matplotlib_inline.backend_inline"]
    wanted += [m.name for m in pkgutil.walk_packages(analysis.__path__, "analysis.")]
    for name in wanted:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    compiled = 0
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if not source or not source.endswith(".py"):
            continue
        cached = importlib.util.cache_from_source(source)
        if os.path.exists(cached):
            continue
        with contextlib.suppress(Exception):
            py_compile.compile(source, cfile=cached, doraise=True)
            compiled += 1
    return compiled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.pipeline.runner",
                                     description="Execute a notebook with papermill.")
    parser.add_argument("notebook", nargs="?", help="notebooks/NN_name.ipynb")
    parser.add_argument("--precompile", action="store_true",
                        help="only byte-compile the modules a build imports (make install)")
    parser.add_argument("--params", help="YAML parameter file (default params/<name>.yaml)")
    parser.add_argument("--output", help="executed copy (default build/notebooks/<name>.ipynb)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--force", action="store_true",
                        help="execute even if every recorded input is unchanged")
    parser.add_argument("--lock-timeout", type=float, default=None,
                        help="seconds to wait for another run of the same output "
                             f"(default: ${LOCK_TIMEOUT_ENV}, else no limit; 0: fail at once)")
    parser.add_argument("--quiet", action="store_true", help="no per-cell progress lines")
    args = parser.parse_args(argv)
    if args.precompile:
        started = time.perf_counter()
        n = precompile()
        print(f"[install] byte-compiled {n} modules in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        return 0
    if not args.notebook:
        parser.error("the notebook is required")
    try:
        run_notebook(args.notebook, args.params, args.output, timeout=args.timeout,
                     progress=not args.quiet, force=args.force,
                     lock_timeout_s=args.lock_timeout)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_PARAMS
    except NotebookFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except BuildLocked as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_LOCKED
    except (KeyboardInterrupt, Interrupted) as err:
        what = "SIGINT" if isinstance(err, KeyboardInterrupt) else str(err)
        print(f"error: {Path(args.notebook).stem}: interrupted ({what}); the temporary "
              "files were removed and the previous outputs are unchanged", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:
        if err.errno == errno.ENOSPC:
            print(f"error: {Path(args.notebook).stem}: {disk_full_message(err)}",
                  file=sys.stderr)
        else:
            print(f"error: {err}", file=sys.stderr)
        return EXIT_ENV
    return 0


if __name__ == "__main__":
    sys.exit(main())
