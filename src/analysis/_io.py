"""Small I/O primitives every layer may use: dates, atomic JSON, checksums, reads.

Loaders call :func:`record_read` for every data file they open; a notebook's results
file stores :func:`files_read` when it is saved, and the runner turns the list into the
make dependency file, so that changing a data file re-executes the notebooks that read
it. This module sits at the bottom of the package: it imports only :mod:`analysis.config`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from analysis import config

_READS: dict[str, str] = {}


def as_date(x) -> dt.date:
    """A calendar day from a date, datetime, Timestamp or ISO string."""
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    return pd.Timestamp(x).date()


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write JSON to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def relative(path: str | Path) -> str:
    """A path relative to the project root when it lies inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(config.PROJ_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def record_read(path: str | Path) -> None:
    """Note that this process read a data file (its checksum is taken now)."""
    _READS[relative(path)] = sha256(path)


def files_read() -> dict[str, str]:
    """Data files read by this process so far, path → SHA-256."""
    return dict(sorted(_READS.items()))
