"""The shipped experiment specs (package data under ``rfloc/validation/specs/``).

Each file is a spec (:mod:`rfloc.validation.spec`) that cites its source; ``rfloc specs``
lists them and ``rfloc run NAME`` runs one by name, ``rfloc run all`` every one.
"""

from __future__ import annotations

from pathlib import Path

from rfloc.validation.spec import Spec, SpecError, load

__all__ = ["ALL", "get", "names", "resolve_source"]

#: the name that stands for every shipped spec
ALL = "all"

_FOLDER = Path(__file__).with_name("specs")


def names() -> list[str]:
    """Names of the shipped specs, in file-name order."""
    return sorted(p.stem for p in _FOLDER.glob("*.toml"))


def get(name: str) -> Spec:
    """The shipped spec ``name`` (its file ``specs/NAME.toml``)."""
    if name not in names():
        raise SpecError(f"spec must be a file or one of {[*names(), ALL]}, got {name!r}")
    spec = load(_FOLDER / f"{name}.toml")
    if spec.name != name:
        raise SpecError(f"shipped spec file {name}.toml is named {spec.name!r} inside")
    return spec


def resolve_source(source: str) -> list[Spec]:
    """The specs a command line names: ``all``, a shipped name, or a path to a TOML file."""
    if source == ALL:
        return [get(n) for n in names()]
    path = Path(source)
    if path.suffix == ".toml" or path.exists():
        return [load(path)]
    return [get(source)]
