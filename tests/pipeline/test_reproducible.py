"""Reproducible to the byte: two clones of one tree, built into two directories with the
small CI parameters, give identical executed notebooks, results, data, reports (HTML and
PDF) and notebook pages, except for the declared differences:

- in ``build/results/<name>.json``: ``provenance.saved_utc``, ``provenance.executed_utc``
  and ``provenance.timing`` (wall-clock times of the run: their one declared place);
- ``build/notebooks/<name>.d``: make dependency files name the output's path (compared
  with the clone's path replaced);
- lock files (``.locks/``), which name the last holder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PY, small_params

from analysis import config

pytestmark = pytest.mark.slow

DECLARED = ("saved_utc", "executed_utc", "timing")


def snapshot(dest: Path) -> Path:
    """A clone of the repository with the work tree's uncommitted changes laid over it."""
    root = config.PROJ_ROOT
    subprocess.run(["git", "clone", "--quiet", "--shared", str(root), str(dest)], check=True)
    listed = subprocess.run(["git", "ls-files", "-z", "--modified", "--others",
                             "--exclude-standard"], cwd=root, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = root / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
        else:
            (dest / rel).unlink(missing_ok=True)  # deleted in the work tree
    return dest


def build(clone: Path) -> subprocess.Popen:
    """Every notebook with the CI parameters, then the reports, inside the clone."""
    notebooks = sorted((clone / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    steps = [f"{PY} -m analysis.pipeline.runner {nb} --params "
             f"{clone / small_params(nb).relative_to(config.PROJ_ROOT)} "
             f"--output build/notebooks/{nb.name}" for nb in notebooks]
    steps.append(f"{PY} -m analysis.pipeline.render --engine pandoc --reports-dir reports")
    env = {**os.environ, "PYTHONPATH": str(clone / "src"),
           "ANALYSIS_BUILD_DIR": str(clone / "build")}
    env.pop("SOURCE_DATE_EPOCH", None)  # both take it from the commit
    return subprocess.Popen(["bash", "-ec", " && ".join(steps)], cwd=clone, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def files(clone: Path) -> dict[str, Path]:
    out = {}
    for top in ("build", "reports/_output"):
        for path in (clone / top).rglob("*"):
            rel = path.relative_to(clone).as_posix()
            if path.is_file() and "/.locks/" not in rel:
                out[rel] = path
    return out


def comparable(rel: str, path: Path, clone: Path) -> bytes:
    data = path.read_bytes()
    if rel.startswith("build/results/") and rel.endswith(".json"):
        payload = json.loads(data)
        for key in DECLARED:
            payload.get("provenance", {}).pop(key, None)
        return json.dumps(payload, sort_keys=True).encode()
    if rel.endswith(".d"):
        return data.replace(str(clone).encode(), b"<clone>")
    return data


def test_two_clones_build_byte_identical_outputs(tmp_path):
    a, b = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    probe = subprocess.run([PY, "-c", "from analysis import config; print(config.PROJ_ROOT)"],
                           env={**os.environ, "PYTHONPATH": str(a / "src")},
                           capture_output=True, text=True)
    assert probe.stdout.strip() == str(a), "PYTHONPATH does not select the clone's package"
    procs = [build(a), build(b)]  # at once: two builds on two cores
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
    fa, fb = files(a), files(b)
    assert set(fa) == set(fb), f"different files: {sorted(set(fa) ^ set(fb))}"
    assert any(r.endswith("findings.pdf") for r in fa) and any(
        r.startswith("build/notebooks/") and r.endswith(".ipynb") for r in fa)
    differ = [rel for rel in sorted(fa)
              if comparable(rel, fa[rel], a) != comparable(rel, fb[rel], b)]
    assert not differ, f"not byte-identical between two clones: {differ}"
    # and no absolute path of either clone leaks into what a reader sees
    for rel, path in fa.items():
        if rel.endswith((".ipynb", ".html", ".md", ".json")):
            assert str(a).encode() not in path.read_bytes(), f"{rel} names the clone's path"
