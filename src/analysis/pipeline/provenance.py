"""Where a build came from: commit, parameters, data checksums, package versions.

Loaders call :func:`record_read` for every data file they open; a notebook's
:class:`analysis.pipeline.results.Results` stores the checksums of those files when it is saved,
and :func:`provenance_markdown` turns the results of every executed notebook into the
provenance appendix that ends each report.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from analysis import config
from analysis._io import relative

#: Packages whose versions every report records.
KEY_PACKAGES = (
    "rednote-analysis", "numpy", "pandas", "scipy", "statsmodels", "duckdb", "pyarrow",
    "pandera", "pydantic", "matplotlib", "seaborn", "papermill", "ipykernel",
    "pypandoc-binary", "typst",
)

def display_path(path: str | Path) -> str:
    """How results, executed notebooks and reports name a file, the same in every clone
    and build directory: ``build/...`` under the build directory (wherever
    ``ANALYSIS_BUILD_DIR`` puts it), relative under the project root, else absolute.
    :func:`locate` maps the name back to the file."""
    path = Path(path).resolve()
    build = config.BUILD_DIR.resolve()
    if path.is_relative_to(build):
        rest = path.relative_to(build).as_posix()
        return "build" if rest == "." else f"build/{rest}"
    return relative(path)


def locate(name: str | Path) -> Path:
    """The file a :func:`display_path` name stands for."""
    text = Path(name).as_posix()
    if text == "build":
        return config.BUILD_DIR
    if text.startswith("build/"):
        return config.BUILD_DIR / text[len("build/"):]
    path = Path(text)
    return path if path.is_absolute() else config.PROJ_ROOT / path


def source_date_epoch(root: Path | None = None) -> int:
    """``$SOURCE_DATE_EPOCH`` if set, else the commit time of HEAD, else now.

    Every date a build writes (the PDF's creation date, the report's date, the
    provenance appendix's build date) comes from here, so that two builds of one commit
    are identical (https://reproducible-builds.org/specs/source-date-epoch/).
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw.isdigit():
        return int(raw)
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=root or config.PROJ_ROOT,
                             capture_output=True, text=True, timeout=10, check=True)
        return int(out.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return int(datetime.now(UTC).timestamp())


def git_state(root: Path | None = None) -> dict:
    """Commit and dirtiness of the work tree (``None`` values outside a git checkout)."""
    root = root or config.PROJ_ROOT

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                 timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def package_versions(names=KEY_PACKAGES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def load_results(results_dir: Path | None = None) -> dict[str, dict]:
    """Every notebook's saved results, by notebook name.

    Dotfiles (temporary files of runs in progress or of runs that died) are never read.
    """
    results_dir = results_dir or config.RESULTS_DIR
    return {p.stem: json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))
            if not p.name.startswith(".") and p.is_file()}


def collect(results_dir: Path | None = None, extra_versions: dict | None = None) -> dict:
    """Everything the provenance appendix states, as a dict."""
    results = load_results(results_dir)
    files: dict[str, str] = {}
    for res in results.values():
        files.update(res.get("provenance", {}).get("files_read", {}))
    epoch = source_date_epoch()
    return {
        "built_utc": datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "built_from": ("SOURCE_DATE_EPOCH" if os.environ.get("SOURCE_DATE_EPOCH", "").strip()
                       .isdigit() else "commit time"),
        "git": git_state(),
        "notebooks": {
            name: {
                "parameters": res.get("parameters", {}),
                "params_file": res.get("provenance", {}).get("params_file"),
                "executed_utc": res.get("provenance", {}).get("executed_utc"),
            }
            for name, res in results.items()
        },
        "files_read": dict(sorted(files.items())),
        "versions": {**package_versions(), **(extra_versions or {})},
    }


def provenance_markdown(info: dict) -> str:
    """The provenance appendix as Markdown (read by both rendering paths)."""
    git = info["git"]
    commit = git["commit"] or "not a git checkout"
    dirty = {True: "yes: uncommitted changes were present",
             False: "no", None: "unknown"}[git["dirty"]]
    built = info["built_utc"]
    if info.get("built_from"):
        built += f" ({info['built_from']}, so that two builds of one commit are identical)"
    lines = [
        f"- **Built:** {built}",
        f"- **Git commit:** `{commit}`",
        f"- **Work tree dirty:** {dirty}",
        "",
        "**Parameters used**",
        "",
        "| notebook | parameter file | parameter | value |",
        "|---|---|---|---|",
    ]
    for name, nb in info["notebooks"].items():
        for key, value in nb["parameters"].items():
            lines.append(f"| {name} | `{nb['params_file']}` | `{key}` | `{value}` |")
    # A list, not a table: a 64-character digest beside a long path overflows a PDF page.
    lines += ["", "**Data files read (SHA-256)**", ""]
    for path, digest in info["files_read"].items():
        lines.append(f"- `{path}`  \n  SHA-256 `{digest}`")
    lines += ["", "**Package versions**", "", "| package | version |", "|---|---|"]
    for name, version in info["versions"].items():
        lines.append(f"| {name} | {version} |")
    return "\n".join(lines) + "\n"
