"""The simulated activity panel as the notebooks use it: calibrated, built once, cached.

:func:`ensure_panel` returns the path of the SIMULATED activity log for a ``(scale,
seed)``: it calibrates :mod:`analysis.simulation.users` to the published anchors read through the
validated loader (so the figures' checksum lands in the provenance), writes the panel
under ``config.GENERATED_DATA_DIR`` if it is not there yet, and records the file as read.
The panel is a build product (``make data`` builds the default one), never raw data; it
is deterministic for a given scale, seed and published-figures file.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis import config
from analysis.simulation import users as simulate
from analysis.data import sources
from analysis._io import record_read, sha256

DEFAULT_SCALE = 0.01


def panel_dir(scale: float = DEFAULT_SCALE, seed: int = simulate.DEFAULT_SEED) -> Path:
    """Where the panel for ``(scale, seed)`` lives."""
    return config.GENERATED_DATA_DIR / f"panel-scale{scale:g}-seed{seed}"


def ensure_panel(scale: float = DEFAULT_SCALE, seed: int = simulate.DEFAULT_SEED,
                 progress: bool | None = None) -> Path:
    """Path of the simulated activity log for ``(scale, seed)``, building it if needed.

    A cached panel is reused only if it was calibrated to the current published-figures
    file (its SHA-256 is kept beside the panel); otherwise it is rebuilt.
    """
    if not (0 < scale <= 1):
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    out = panel_dir(scale, seed)
    path = out / "activity.parquet"
    stamp = out / "published_metrics.sha256"
    figures_sha = sha256(config.PUBLISHED_METRICS_CSV)
    metrics = sources.load_published_metrics()  # records the figures as read
    if not (path.is_file() and stamp.is_file() and stamp.read_text().strip() == figures_sha):
        calibration = simulate.calibrate(simulate.anchors_from_published(metrics))
        simulate.simulate_panel(calibration, scale=scale, seed=seed, out_dir=out,
                                progress=progress)
        tmp = stamp.with_name(f".{stamp.name}.tmp")
        tmp.write_text(figures_sha + "\n")
        tmp.replace(stamp)
    record_read(path)
    return path


def panel_metadata(path: str | Path) -> dict:
    """The ``params.json`` written beside a panel: true parameters, seed, scale, label."""
    return json.loads((Path(path).parent / "params.json").read_text())


def main() -> int:
    """``python -m analysis.simulation.panel``: build the default panel (``make data``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m analysis.simulation.panel",
                                     description="Build the SIMULATED activity panel.")
    parser.add_argument("--scale", type=float, default=DEFAULT_SCALE)
    parser.add_argument("--seed", type=int, default=simulate.DEFAULT_SEED)
    args = parser.parse_args()
    try:
        path = ensure_panel(args.scale, args.seed)
    except ValueError as err:
        parser.error(str(err))
    print(path.relative_to(config.PROJ_ROOT) if path.is_relative_to(config.PROJ_ROOT)
          else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
