"""Project plumbing: pinned environment files agree, make help documents every target,
provenance is computed independently of the tools that report it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tomllib

import yaml

from analysis import _io, config
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


BENCH_MARK = "# --- bench only"


def _lock_parts() -> tuple[dict[str, str], dict[str, str]]:
    """The lock's pins: (above the bench-only line, below it), name -> version."""
    parts: tuple[dict, dict] = ({}, {})
    part = parts[0]
    for line in (config.PROJ_ROOT / "requirements" / "lock.txt").read_text().splitlines():
        if line.startswith(BENCH_MARK):
            part = parts[1]
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            part[_norm(name)] = version.strip()
    return parts


def _installed_by(root: str, extras: set[str]) -> dict[str, str]:
    """What installing ``root[extras]`` pulls in, walked through the metadata of the
    running environment (``Requires-Dist`` with markers): name -> installed version."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    todo, done, found = [(root, frozenset(extras))], set(), {}
    while todo:
        name, wanted = todo.pop()
        if (_norm(name), wanted) in done:
            continue
        done.add((_norm(name), wanted))
        dist = md.distribution(name)
        found[_norm(name)] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e})
                                         for e in (wanted or {""})):
                todo.append((req.name, frozenset(req.extras)))
    found.pop(_norm(root))
    return found


def _make_install_extras() -> set[str]:
    """The extras the recipes of `make install`'s prerequisites install (-e '.[...]')."""
    makefile = (config.PROJ_ROOT / "Makefile").read_text()
    prerequisites = re.search(r"^install:([^#\n]*)", makefile, flags=re.M).group(1).split()
    extras, installs = set(), 0
    for target in prerequisites:
        rule = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)*)", makefile, flags=re.M)
        for found in re.findall(r"-e\s+['\"]?\.(?:\[([\w,]+)\])?['\"]?", rule.group(1)):
            installs += 1
            extras |= set(filter(None, found.split(",")))
    assert installs, f"no `-e .` install in the recipes of make install ({prerequisites})"
    return extras


def test_environment_yml_pins_exactly_what_make_install_installs():
    """environment.yml = the lock's pins that `make install` installs (direct and
    transitive, same versions) + python, pip, quarto and the project; nothing else."""
    env = yaml.safe_load((config.PROJ_ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert sorted(conda) == ["pip", "python=3.11", "quarto"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip[-1] == "-e ."
    pinned = {}
    for line in pip[:-1]:
        name, version = line.split("==")
        assert _norm(name) not in pinned, f"{name} twice in environment.yml"
        pinned[_norm(name)] = version
    install, bench = _lock_parts()
    assert pinned == install, (
        f"environment.yml and the make-install part of requirements/lock.txt differ: "
        f"only in environment.yml {sorted(set(pinned) - set(install))}, only in the lock "
        f"{sorted(set(install) - set(pinned))}, versions "
        f"{sorted(n for n in set(pinned) & set(install) if pinned[n] != install[n])}")
    assert not set(pinned) & set(bench), "bench-only pins must not be in environment.yml"


def test_lock_parts_match_what_make_install_pulls_in():
    """The split of requirements/lock.txt is what `pip install -e '.[dev]'` really pulls
    in (read from this environment, which `make install` made from the lock)."""
    extras = _make_install_extras()
    assert extras == {"dev"}, extras
    installed = _installed_by("rednote-analysis", extras)
    install, bench = _lock_parts()
    assert set(installed) == set(install), (
        f"pulled in by make install but not in its part of the lock: "
        f"{sorted(set(installed) - set(install))}; in that part but not pulled in: "
        f"{sorted(set(install) - set(installed))}")
    assert {n: installed[n] for n in install} == install, "this venv is not the lock"
    project = tomllib.loads((config.PROJ_ROOT / "pyproject.toml").read_text())["project"]
    bench_direct = {_norm(re.split(r"[<>=!~\[ ;]", n)[0])
                    for n in project["optional-dependencies"]["bench"]}
    assert {"prophet"} <= set(bench) and bench_direct <= set(install) | set(bench)


def test_environment_yml_is_generated_from_the_lock(tmp_path, monkeypatch):
    """environment.yml is exactly what `python tools/lock.py --env-only` writes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lock", config.PROJ_ROOT / "tools" / "lock.py")
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    monkeypatch.setattr(lock, "ENV", tmp_path / "environment.yml")
    lock.write_environment()
    assert (tmp_path / "environment.yml").read_text() == \
        (config.PROJ_ROOT / "environment.yml").read_text(), "run python tools/lock.py --env-only"


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
