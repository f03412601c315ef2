"""The machinery that runs notebooks and renders reports; it knows no domain:
params -> runner -> results -> provenance -> render."""
