"""Pure estimators: arrays and frames in, fitted estimators out. They import nothing of the
project except :mod:`analysis.models._estimator`."""
