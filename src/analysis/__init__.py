"""Research package for the January 2025 RedNote (Xiaohongshu) "TikTok refugee" episode.

Modules, one model family each:

- :mod:`analysis.config`     -- every path the project uses (the only place paths live)
- :mod:`analysis.data.sources`    -- the curated published figures and their schema
- :mod:`analysis.pipeline.params`     -- typed parameter schemas for the notebooks
- :mod:`analysis.pipeline.runner`     -- papermill execution of the notebooks
- :mod:`analysis.pipeline.results`    -- machine-readable key results written by notebooks
- :mod:`analysis.pipeline.provenance` -- commit, parameters, checksums and versions of a build
- :mod:`analysis.pipeline.render`     -- Quarto rendering, or the pandoc + typst fallback
- :mod:`analysis.data.cohorts`    -- DAU and cohort tables from activity logs (DuckDB)
- :mod:`analysis.simulation.users`   -- the simulated activity panel (labelled simulated)
- :mod:`analysis.models.retention`  -- sBG, BdW and simple retention curves
- :mod:`analysis.models.forecast`   -- DAU forecasters and Prophet-style backtests
- :mod:`analysis.models.adoption`   -- Bass diffusion and relatives
"""

__version__ = "0.1.0"
