"""One helper module per notebook, named after it (``00_sources`` -> ``sources``), plus
``common`` (Markdown outputs, number formats, the figure theme)."""
