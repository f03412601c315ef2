"""What changed since the last report: the "What changed" appendix.

Every render compares the results it is built from (``build/results/<name>.json``) with
a *baseline* and writes ``build/report/changes.md``, which the reports include as their
"What changed" appendix:

- by default the baseline is the results of the previous successful render, which the
  renderer keeps in ``build/report/last-results/`` (a rerun with nothing changed shows
  "nothing changed");
- ``python -m analysis.pipeline.render --compare DIR`` compares with a folder of saved
  results instead (a copy of an earlier ``build/results/``, a ``last-results/`` or
  ``history/<commit>/`` folder, or a build directory holding ``results/``);
- ``--compare REF`` with a git ref (``HEAD~1``, a tag, a commit) compares with the
  results of the last render of that commit, kept in ``build/report/history/<commit>/``
  whenever a render is made from a clean work tree.

The appendix lists every key number that differs (old, new, change, relative change),
numbers added and removed, every table cell that differs (the first
:data:`MAX_CELLS_SHOWN` of each table, with the count; all of them are in
``build/report/changes.json``), the parameters that changed, the inputs whose SHA-256
changed (data files, notebook sources, modules, lock file, as recorded by the runner)
and the code commit. Numbers are equal within :data:`RTOL` and :data:`ATOL`, stated in
the appendix. The snapshots drop the wall-clock fields of the results (the declared
differences between two builds), so that two builds of one commit stay byte-identical.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from analysis import config
from analysis._io import relative

#: Two numbers are equal when ``|new - old| <= RTOL * max(|old|, |new|) + ATOL``.
RTOL = 1e-6
ATOL = 1e-9
#: Changed cells listed per table in the appendix (all are in changes.json).
MAX_CELLS_SHOWN = 25
#: Wall-clock fields of a results file: they differ between any two runs.
WALL_CLOCK = ("saved_utc", "executed_utc", "timing")


class CompareError(ValueError):
    """The baseline to compare with cannot be found or read."""


# --- Where baselines live -----------------------------------------------------------------

def last_dir() -> Path:
    return config.REPORT_BUILD_DIR / "last-results"


def history_dir() -> Path:
    return config.REPORT_BUILD_DIR / "history"


def changes_md() -> Path:
    return config.REPORT_BUILD_DIR / "changes.md"


@dataclass
class Baseline:
    """Results to compare with, and where they came from."""

    label: str  # how the appendix names it
    results: dict[str, dict]
    meta: dict = field(default_factory=dict)  # commit, dirty, built_utc when known


def _read_results(folder: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(".") or path.name == "meta.json" or not path.is_file():
            continue
        try:
            out[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise CompareError(f"{relative(path)}: not a readable results file ({err})") from None
    return out


def _read_meta(folder: Path) -> dict:
    meta = folder / "meta.json"
    try:
        return json.loads(meta.read_text()) if meta.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=config.PROJ_ROOT, capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def resolve_baseline(compare: str | None) -> Baseline | None:
    """The baseline for ``--compare`` (``None``: the previous render, if any)."""
    if compare is None:
        folder = last_dir()
        if not folder.is_dir():
            return None
        return Baseline("the previous report", _read_results(folder), _read_meta(folder))
    path = Path(compare)
    if path.is_dir():
        folder = path / "results" if (path / "results").is_dir() else path
        results = _read_results(folder)
        if not results:
            raise CompareError(f"--compare {compare}: {relative(folder)} holds no results "
                               "(*.json files of build/results/)")
        return Baseline(f"the results in `{relative(folder)}`", results, _read_meta(folder))
    commit = _git("rev-parse", "--verify", "--quiet", f"{compare}^{{commit}}")
    if not commit:
        raise CompareError(f"--compare {compare}: neither a directory of results nor a git "
                           "ref of this repository")
    folder = history_dir() / commit
    if not folder.is_dir():
        kept = sorted(p.name[:12] for p in history_dir().glob("*") if p.is_dir()) \
            if history_dir().is_dir() else []
        raise CompareError(
            f"--compare {compare}: no results of commit {commit[:12]} are kept in "
            f"{relative(history_dir())} (a render from a clean work tree of a commit keeps "
            f"them; kept: {', '.join(kept) or 'none'}). Check out {compare}, run "
            "`make report`, or pass a directory of saved results.")
    return Baseline(f"commit `{commit[:12]}` ({compare})", _read_results(folder),
                    _read_meta(folder))


# --- Snapshots ---------------------------------------------------------------------------

def normalised(result: dict) -> dict:
    """A results payload without its wall-clock fields."""
    out = json.loads(json.dumps(result))
    for key in WALL_CLOCK:
        out.get("provenance", {}).pop(key, None)
    return out


def _write_folder(dest: Path, results: dict[str, dict], meta: dict) -> None:
    """``dest`` replaced, as a whole, by the snapshot (built beside it, then renamed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-{os.getpid()}-", dir=dest.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the snapshot is an ordinary build folder
    try:
        for name, result in results.items():
            (tmp / f"{name}.json").write_text(
                json.dumps(normalised(result), indent=2, sort_keys=True, ensure_ascii=False)
                + "\n")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        if dest.exists():
            dest.rename(old)
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remember(results: dict[str, dict], meta: dict) -> None:
    """After a successful render: its results become the next render's baseline, and,
    from a clean work tree, the kept results of its commit."""
    _write_folder(last_dir(), results, meta)
    if meta.get("commit") and meta.get("dirty") is False:
        _write_folder(history_dir() / meta["commit"], results, meta)


# --- Comparison --------------------------------------------------------------------------

def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same(old, new) -> bool:
    if _is_number(old) and _is_number(new):
        return abs(new - old) <= RTOL * max(abs(old), abs(new)) + ATOL
    return old == new


def _row_keys(table: dict) -> tuple[list[str], list]:
    """Columns identifying a row (the fewest leading non-float columns whose values are
    unique), and each row's key; the row position when none is unique."""
    columns, rows = table.get("columns", []), table.get("rows", [])
    keys: list[str] = []
    for col in columns:
        if any(isinstance(r.get(col), float) for r in rows):
            continue
        keys.append(col)
        values = [tuple(r.get(k) for k in keys) for r in rows]
        if len(set(values)) == len(values):
            return keys, values
        if len(keys) == 3:
            break
    return ["row"], list(range(1, len(rows) + 1))


def _describe_key(keys: list[str], key) -> str:
    if keys == ["row"]:
        return f"row {key}"
    return ", ".join(str(v) for v in key)


def compare_tables(old: dict, new: dict) -> dict:
    """Changed cells, added/removed rows and columns of one table."""
    out = {"cells": [], "rows_added": [], "rows_removed": [], "columns_added": [],
           "columns_removed": []}
    out["columns_added"] = [c for c in new.get("columns", []) if c not in old.get("columns", [])]
    out["columns_removed"] = [c for c in old.get("columns", [])
                              if c not in new.get("columns", [])]
    keys_new, ids_new = _row_keys(new)
    keys_old = keys_new
    ids_old = ([tuple(r.get(k) for k in keys_new) for r in old.get("rows", [])]
               if keys_new != ["row"] else list(range(1, len(old.get("rows", [])) + 1)))
    if len(set(ids_old)) != len(ids_old):  # the new key does not identify old rows
        keys_old, ids_old = ["row"], list(range(1, len(old.get("rows", [])) + 1))
        keys_new, ids_new = ["row"], list(range(1, len(new.get("rows", [])) + 1))
    old_rows = dict(zip(ids_old, old.get("rows", []), strict=True))
    new_rows = dict(zip(ids_new, new.get("rows", []), strict=True))
    common = [c for c in new.get("columns", []) if c in old.get("columns", [])]
    for key, row in new_rows.items():
        if key not in old_rows:
            out["rows_added"].append(_describe_key(keys_new, key))
            continue
        for col in common:
            if col in keys_new and keys_new != ["row"]:
                continue
            a, b = old_rows[key].get(col), row.get(col)
            if not same(a, b):
                out["cells"].append({"row": _describe_key(keys_new, key), "column": col,
                                     "old": a, "new": b})
    out["rows_removed"] = [_describe_key(keys_old, k) for k in old_rows if k not in new_rows]
    return out


def _dict_diff(old: dict, new: dict) -> list[dict]:
    keys = list(dict.fromkeys([*old, *new]))
    return [{"name": k, "old": old.get(k), "new": new.get(k)} for k in keys
            if k not in old or k not in new or not same(old.get(k), new.get(k))]


def compare(baseline: dict[str, dict], current: dict[str, dict]) -> dict:
    """Everything that differs between two sets of results, as a dict."""
    report = {"notebooks_added": sorted(set(current) - set(baseline)),
              "notebooks_removed": sorted(set(baseline) - set(current)),
              "numbers": [], "numbers_added": [], "numbers_removed": [], "tables": [],
              "tables_added": [], "tables_removed": [], "parameters": [], "inputs": []}
    for name in sorted(set(current) & set(baseline)):
        old, new = baseline[name], current[name]
        old_n, new_n = old.get("numbers", {}), new.get("numbers", {})
        for key, entry in new_n.items():
            if key not in old_n:
                report["numbers_added"].append({"notebook": name, "name": key,
                                                "new": entry.get("value"),
                                                "description": entry.get("description")})
            elif not same(old_n[key].get("value"), entry.get("value")):
                report["numbers"].append({"notebook": name, "name": key,
                                          "old": old_n[key].get("value"),
                                          "new": entry.get("value"),
                                          "unit": entry.get("unit"),
                                          "description": entry.get("description")})
        report["numbers_removed"] += [{"notebook": name, "name": k,
                                       "old": v.get("value")}
                                      for k, v in old_n.items() if k not in new_n]
        old_t, new_t = old.get("tables", {}), new.get("tables", {})
        report["tables_added"] += [f"{name}: {t}" for t in new_t if t not in old_t]
        report["tables_removed"] += [f"{name}: {t}" for t in old_t if t not in new_t]
        for table in new_t:
            if table in old_t:
                diff = compare_tables(old_t[table], new_t[table])
                if any(diff.values()):
                    report["tables"].append({"notebook": name, "table": table, **diff})
        for item in _dict_diff(old.get("parameters", {}), new.get("parameters", {})):
            report["parameters"].append({"notebook": name, **item})
        inputs = lambda r: {**r.get("provenance", {}).get("files_read", {}),  # noqa: E731
                            **r.get("provenance", {}).get("inputs", {})}
        for item in _dict_diff(inputs(old), inputs(new)):
            report["inputs"].append({"notebook": name, **item})
    return report


def nothing_changed(report: dict) -> bool:
    return not any(report[k] for k in report)


# --- The appendix ------------------------------------------------------------------------

def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.3e}"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) \
        else str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def _cell(value) -> str:
    return fmt(value).replace("|", "\\|")


def _change(old, new) -> tuple[str, str]:
    if not (_is_number(old) and _is_number(new)):
        return "—", "—"
    delta = new - old
    rel = f"{delta / abs(old) * 100:+.3g} %" if old != 0 and math.isfinite(old) else "—"
    return (f"{delta:+,.6g}" if isinstance(delta, float) else f"{delta:+,}"), rel


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _short(digest) -> str:
    return f"`{str(digest)[:12]}`" if digest else "—"


def _who(meta: dict) -> str:
    bits = []
    if meta.get("commit"):
        bits.append(f"commit `{meta['commit'][:12]}`"
                    + (" with uncommitted changes" if meta.get("dirty") else ""))
    if meta.get("built_utc"):
        bits.append(f"built {meta['built_utc']}")
    return f" ({', '.join(bits)})" if bits else ""


def changes_markdown(baseline: Baseline | None, current: dict[str, dict],
                     meta: dict, report: dict | None = None) -> str:
    """The appendix "What changed" as Markdown (read by both rendering paths)."""
    tolerance = (f"Numbers are taken as equal when |new − old| ≤ {RTOL:g} × "
                 f"max(|old|, |new|) + {ATOL:g}.")
    if baseline is None:
        return ("This is the first report of this build directory: there is no earlier "
                "report to compare with. The next report will list every key number, "
                "table cell, parameter and input that differs from this one (or compare "
                "with a named git ref or a folder of saved results: "
                "`python -m analysis.pipeline.render --compare REF`).\n")
    report = report if report is not None else compare(baseline.results, current)
    old_commit, new_commit = baseline.meta.get("commit"), meta.get("commit")
    lines = [f"Compared with {baseline.label}{_who(baseline.meta)}. {tolerance}", ""]
    if old_commit or new_commit:
        code = (f"unchanged, `{new_commit[:12]}`" if old_commit == new_commit
                else f"`{(old_commit or 'unknown')[:12]}` → `{(new_commit or 'unknown')[:12]}`")
        if meta.get("dirty") or baseline.meta.get("dirty"):
            code += " (uncommitted changes were present in the work tree; the input "
            code += "checksums below show what differs)"
        lines += [f"- **Code commit:** {code}", ""]
    if nothing_changed(report):
        lines.append("**Nothing changed:** every key number, table cell, parameter and "
                     "input checksum of this report equals the one it is compared with.")
        return "\n".join(lines) + "\n"
    cells = sum(len(t["cells"]) for t in report["tables"])
    counts = (f"{_count(len(report['numbers']), 'key number')} changed, "
              f"{_count(cells, 'table cell')} changed in "
              f"{_count(len(report['tables']), 'table')}, "
              f"{_count(len(report['parameters']), 'parameter')} and "
              f"{_count(len(report['inputs']), 'input checksum')} changed.")
    lines += [f"**Summary:** {counts}", ""]
    for key, what in (("notebooks_added", "Notebooks added"),
                      ("notebooks_removed", "Notebooks removed")):
        if report[key]:
            lines += [f"- **{what}:** {', '.join(report[key])}", ""]
    if report["parameters"]:
        lines += ["**Parameters that changed**", "", "| notebook | parameter | old | new |",
                  "|---|---|---|---|"]
        lines += [f"| {p['notebook']} | `{p['name']}` | {_cell(p['old'])} | {_cell(p['new'])} |"
                  for p in report["parameters"]]
        lines.append("")
    if report["inputs"]:
        lines += ["**Inputs whose SHA-256 changed**", "",
                  "| notebook | input | old | new |", "|---|---|---|---|"]
        lines += [f"| {i['notebook']} | `{i['name']}` | {_short(i['old'])} | {_short(i['new'])} |"
                  for i in report["inputs"]]
        lines.append("")
    if report["numbers"]:
        lines += ["**Key numbers that changed**", "",
                  "| notebook | number | old | new | change | relative |",
                  "|---|---|---:|---:|---:|---:|"]
        for n in report["numbers"]:
            delta, rel = _change(n["old"], n["new"])
            lines.append(f"| {n['notebook']} | `{n['name']}` | {_cell(n['old'])} | "
                         f"{_cell(n['new'])} | {delta} | {rel} |")
        lines.append("")
    for key, what, field_ in (("numbers_added", "Key numbers added", "new"),
                              ("numbers_removed", "Key numbers removed", "old")):
        if report[key]:
            lines += [f"**{what}:** " + "; ".join(
                f"{n['notebook']} `{n['name']}` = {_cell(n[field_])}" for n in report[key]), ""]
    for key, what in (("tables_added", "Tables added"), ("tables_removed", "Tables removed")):
        if report[key]:
            lines += [f"**{what}:** {', '.join(report[key])}", ""]
    for t in report["tables"]:
        title = f"**Table `{t['table']}` of {t['notebook']}**"
        notes = []
        for key, what in (("rows_added", "rows added"), ("rows_removed", "rows removed"),
                          ("columns_added", "columns added"),
                          ("columns_removed", "columns removed")):
            if t[key]:
                shown = ", ".join(str(x) for x in t[key][:10])
                more = f" and {len(t[key]) - 10} more" if len(t[key]) > 10 else ""
                notes.append(f"{what}: {shown}{more}")
        lines += [title + (f" ({'; '.join(notes)})" if notes else ""), ""]
        if t["cells"]:
            shown = t["cells"][:MAX_CELLS_SHOWN]
            lines += ["| row | column | old | new | change | relative |",
                      "|---|---|---:|---:|---:|---:|"]
            for c in shown:
                delta, rel = _change(c["old"], c["new"])
                lines.append(f"| {_cell(c['row'])} | `{c['column']}` | {_cell(c['old'])} | "
                             f"{_cell(c['new'])} | {delta} | {rel} |")
            lines.append("")
            if len(t["cells"]) > len(shown):
                lines += [f"{len(t['cells'])} cells of this table changed; the first "
                          f"{len(shown)} are shown, all are in `build/report/changes.json`.",
                          ""]
    return "\n".join(lines) + "\n"


def write_changes(current: dict[str, dict], meta: dict, compare_with: str | None = None) -> Path:
    """``build/report/changes.md`` (and ``changes.json``) for this render."""
    baseline = resolve_baseline(compare_with)
    report = compare(baseline.results, current) if baseline else None
    text = changes_markdown(baseline, current, meta, report)
    path = changes_md()
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, content in ((path, text), (path.with_suffix(".json"), json.dumps(
            {"baseline": baseline.label if baseline else None,
             "baseline_meta": baseline.meta if baseline else None,
             "rtol": RTOL, "atol": ATOL, "changes": report}, indent=2, sort_keys=True,
            ensure_ascii=False, default=str) + "\n")):
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            tmp.write_text(content)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    return path
