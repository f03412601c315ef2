"""Research package for the January 2025 RedNote (Xiaohongshu) "TikTok refugee" episode.

Modules, one model family each:

- :mod:`analysis.config`     -- every path the project uses (the only place paths live)
- :mod:`analysis.sources`    -- the curated published figures and their schema
- :mod:`analysis.params`     -- typed parameter schemas for the notebooks
- :mod:`analysis.runner`     -- papermill execution of the notebooks
- :mod:`analysis.results`    -- machine-readable key results written by notebooks
- :mod:`analysis.provenance` -- commit, parameters, checksums and versions of a build
- :mod:`analysis.render`     -- Quarto rendering, or the pandoc + typst fallback
- :mod:`analysis.cohorts`    -- DAU and cohort tables from activity logs (DuckDB)
- :mod:`analysis.simulate`   -- the simulated activity panel (labelled simulated)
- :mod:`analysis.retention`  -- sBG, BdW and simple retention curves
- :mod:`analysis.forecast`   -- DAU forecasters and Prophet-style backtests
- :mod:`analysis.adoption`   -- Bass diffusion and relatives
"""

__version__ = "0.1.0"
