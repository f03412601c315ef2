"""Project plumbing: pinned environment files agree, make help documents every target,
provenance is computed independently of the tools that report it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tomllib

import yaml

from analysis import config
from analysis import _io
from analysis.pipeline import provenance


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (config.PROJ_ROOT / "requirements" / "lock.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    return pins


def _direct() -> list[str]:
    project = tomllib.loads((config.PROJ_ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        names += extra
    return [_norm(re.split(r"[<>=!~\[ ;]", n)[0]) for n in names]


def test_every_direct_dependency_is_pinned_in_the_lock():
    lock = _lock()
    missing = [n for n in _direct() if n not in lock]
    assert not missing, f"not pinned in requirements/lock.txt: {missing}"


def test_environment_yml_agrees_with_pyproject_and_lock():
    env = yaml.safe_load((config.PROJ_ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.split("=")[0] == "quarto" for d in conda), "environment.yml must add quarto"
    assert any(d.startswith("python=3.11") for d in conda)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = {}
    for line in pip:
        if "==" in line:
            name, version = line.split("==")
            pinned[_norm(name)] = version
    lock = _lock()
    for name in _direct():
        assert name in pinned, f"{name} is in pyproject.toml but not in environment.yml"
        assert pinned[name] == lock[name], f"{name}: environment.yml {pinned[name]} != lock"
    assert set(pinned) == set(_direct()), "environment.yml lists packages pyproject lacks"


def test_make_help_lists_documented_targets():
    out = subprocess.run(["make", "help"], capture_output=True, text=True,
                         cwd=config.PROJ_ROOT).stdout
    for target in ("report", "test", "notebooks", "lab", "lint", "clean", "install"):
        assert re.search(rf"^\s*\S*{target}\S*\s+\S", out, flags=re.M), target


def test_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    assert _io.sha256(path, chunk=4096) == hashlib.sha256(data).hexdigest()


def test_provenance_markdown_states_commit_params_checksums_versions(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "00_x.json").write_text(
        '{"parameters": {"market": "US"}, "provenance": {"params_file": "params/x.yaml",'
        ' "files_read": {"data/raw/a.csv": "abc123"}}}')
    info = provenance.collect(results)
    text = provenance.provenance_markdown(info)
    assert info["git"]["commit"] in text
    assert "| 00_x | `params/x.yaml` | `market` | `US` |" in text
    assert "- `data/raw/a.csv`  \n  SHA-256 `abc123`" in text
    assert "pandas" in text and "Built:" in text
