"""The data-model registry: ``params["model"]`` names the class that rebuilds a model.

Each model class registers itself with :func:`register` under the key(s) its ``params``
write, and provides a ``from_params`` classmethod; :func:`from_params` dispatches on the
key, so a new model needs no edit here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rfloc.errors import ParameterError

__all__ = ["from_params", "models", "register"]

T = TypeVar("T")

_BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def register(*keys: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: ``from_params`` of the class rebuilds ``params["model"]`` in ``keys``."""
    def decorate(cls: type[T]) -> type[T]:
        for key in keys:
            if key in _BUILDERS:
                raise ValueError(f"data model {key!r} is registered twice")
            _BUILDERS[key] = cls.from_params  # type: ignore[attr-defined]
        return cls
    return decorate


def models() -> list[str]:
    """The registered ``params["model"]`` keys, sorted."""
    return sorted(_BUILDERS)


def from_params(params: dict[str, Any]) -> Any:
    """Rebuild a model or task from its ``params`` (e.g. read back from results.json).

    Raises
    ------
    ParameterError
        When ``params`` does not describe a registered model.
    """
    try:
        kind = params["model"]
    except (KeyError, TypeError) as exc:
        raise ParameterError(f"params is not a data-model description: {exc!r}") from None
    if not isinstance(kind, str) or kind not in _BUILDERS:
        raise ParameterError(f"params['model'] must name a data model {models()}, got {kind!r}")
    try:
        return _BUILDERS[kind](params)
    except (KeyError, TypeError) as exc:
        raise ParameterError(f"params is not a data-model description: {exc!r}") from None
