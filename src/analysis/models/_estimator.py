"""The estimator protocol every model of :mod:`analysis.models` follows, written once.

scikit-learn's conventions (``doc/developers/develop.rst``): the constructor only stores
its keyword settings; ``fit`` takes the data and returns ``self``; estimated values end in
``_``; ``get_params`` / ``set_params`` read and change the settings; a clone is an unfitted
copy with the same settings; calling a fitted-only method before ``fit`` raises
:class:`NotFittedError`. The coverage of every interval is called ``level`` (0.8 means an
80 % interval), in constructors and in methods alike.

This module imports nothing of the project, so that the models stay free of it.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Self


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``.

    Subclasses ``ValueError`` and ``AttributeError`` like scikit-learn's, so code that
    catches either keeps working.
    """


def check_level(level: Any, name: str = "level") -> float:
    """``level`` as a float in (0, 1), or ``ValueError`` naming the parameter."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1) (0.8 means an 80 % interval), got {level!r}")
    return value


class Estimator:
    """Settings handling shared by every estimator (scikit-learn ``BaseEstimator``).

    Subclasses list their settings as keyword arguments of ``__init__`` and store each one
    unchanged under the same name. ``_fitted_attribute`` names the attribute that exists
    only after ``fit``.
    """

    _fitted_attribute: str = "params_"

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor settings by name (``deep`` is accepted for scikit-learn parity)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change constructor settings; returns self. An unknown name is a ``ValueError``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"invalid parameter {key!r} for {type(self).__name__}; valid: {valid}"
                )
            setattr(self, key, value)
        return self

    def clone(self) -> Self:
        """An unfitted copy with the same settings (settings deep-copied)."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        # Like scikit-learn: show only the settings that differ from their defaults.
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = []
        for key, value in self.get_params().items():
            default = defaults.get(key, inspect.Parameter.empty)
            try:
                same = bool(value == default)
            except Exception:  # array-valued settings compare elementwise
                same = value is default
            if not same:
                shown.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _reset(self) -> None:
        """Forget a previous fit (a second ``fit`` must not remember the first)."""
        for key in list(vars(self)):
            if key.endswith("_") and not key.startswith("_"):
                delattr(self, key)

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attribute):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit() first"
            )
