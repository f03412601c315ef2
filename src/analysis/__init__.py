"""Research package for the January 2025 RedNote (Xiaohongshu) "TikTok refugee" episode.

The package map (layers, lowest first; imports only point down, tests/test_layers.py):

- :mod:`analysis.config`        every path of the project (the only place paths live)
- :mod:`analysis._io`           as_date, write_json_atomic, sha256, record_read, files_read
- :mod:`analysis.models`        pure estimators, importing nothing of the project but
  ``models._estimator`` (one protocol, one NotFittedError, one interval keyword ``level``):
  ``retention`` (sBG, BdW and simple curves; split into ``_retention_data``,
  ``_retention_likelihood`` and ``_retention_intervals``), ``bgbb`` (BG/BB), ``forecast``
  (DAU forecasters, Prophet-style backtests), ``adoption`` (Bass and relatives)
- :mod:`analysis.data`          what exists: ``sources`` (curated published figures),
  ``cohorts`` (the DuckDB cohort engine), ``activity`` (frequency/recency patterns)
- :mod:`analysis.simulation`    what we invent, labelled SIMULATED: ``users`` (the activity
  simulator), ``panel`` (the calibrated panel as one frozen ``Panel``), ``merchants``
- :mod:`analysis.pipeline`      ``params`` -> ``runner`` -> ``results`` -> ``provenance`` ->
  ``render`` (with ``templates/`` and ``filters/``); knows no domain
- :mod:`analysis.notebooks`     one helper module per notebook, named after it:
  ``sources`` (00), ``retention`` (01), ``dau_forecast`` (02), ``merchant_adoption`` (03),
  and ``common`` (Markdown outputs, number formats, the figure theme, shared shaping)

This file imports nothing, so that a notebook's make dependency file lists exactly the
modules it used.
"""

__version__ = "0.1.0"
