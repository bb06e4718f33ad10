"""Scenario files: a scenario written to a readable TOML file, and read back, checked.

An engineer keeps their system in a file beside their design document, edits it by hand, and
runs it from the command line (``python -m simlib run --scenario ours.toml``). The file is the
scenario tree as nested tables: every field of every part, a distribution as a table naming its
``kind`` (``ttft = {kind = "LogNormal", median = 0.6, p95 = 1.5}``; a plain number is a fixed
value), tools and faults as arrays of tables (a fault names its ``kind``), and ``false`` where a
field is switched off (``cache = false``). :func:`save` writes every field, defaults included,
so the file says everything the run will use; :func:`load` accepts a partial file (what is left
out keeps its default) and refuses anything it does not know, naming the field's path::

    >>> load("ours.toml")   # llm.ttfx = 0.5
    ValueError: ours.toml: llm.ttfx: unknown field; LLM's fields are cache, concurrency, ...

A replayed trace is data, not configuration, and is not written: a file whose scenario replays
a trace is refused with a message saying so.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import typing
from pathlib import Path

import tomli_w

from . import dists, faults
from .config import Config
from .scenario import Scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

OFF = False
"""How a file says a field is switched off (TOML has no null): ``cache = false``. (A field
that takes True or False is never switched off, so the two cannot be confused.)"""

DISTRIBUTIONS = {cls.__name__: cls for cls in (
    dists.Deterministic, dists.Exponential, dists.Uniform, dists.LogNormal, dists.Empirical,
    dists.Geometric, dists.Scaled)}
FAULTS = {cls.__name__: cls for cls in faults.FAULTS}


# -- writing -------------------------------------------------------------------------------------


def to_dict(scenario: Scenario) -> dict:
    """The scenario as nested plain values (what :func:`save` writes)."""
    if scenario.workload.replay is not None:
        raise ValueError("workload.replay: a replayed trace is data, not configuration, and is "
                         "not written to a scenario file; save the scenario without it and "
                         "replay the trace in Python (simlib.presets.from_trace)")
    return _plain(scenario)


def _plain(value):
    if value is None:
        return OFF
    if isinstance(value, dists.Distribution):
        return {"kind": type(value).__name__, **{f.name: _plain(getattr(value, f.name))
                                                 for f in dataclasses.fields(value)}}
    if type(value).__name__ in FAULTS:  # a fault names its kind (a flash crowd is one too)
        return {"kind": type(value).__name__, **_fields(value)}
    if dataclasses.is_dataclass(value):
        return _fields(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _fields(config) -> dict:
    table = {}
    for f in dataclasses.fields(config):
        table[f.name] = _plain(getattr(config, f.name))
    if type(config).__name__ in ("OnPrem", "SelfHosted"):
        table = {"kind": type(config).__name__, **table}
    return table


def save(scenario: Scenario, path: str | Path) -> Path:
    """Write ``scenario`` to a TOML file (every field, defaults included); returns the path."""
    path = Path(path)
    path.write_text(tomli_w.dumps(to_dict(scenario)))
    return path


# -- reading -------------------------------------------------------------------------------------


def load(path: str | Path) -> Scenario:
    """Read a scenario file; every field is checked, and an error names the file and the
    field's path."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not a valid TOML file: {error}") from None
    try:
        return from_dict(table)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{path}: {error}") from None


def from_dict(table: dict) -> Scenario:
    """A scenario from nested plain values (a partial table keeps the defaults it leaves
    out)."""
    return _build(Scenario, table, "")


def _build(cls, table, path: str):
    if not isinstance(table, dict):
        raise TypeError(f"{path or 'the file'} must be a table of {cls.__name__}'s fields, "
                        f"got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields) - {"kind"})
    if unknown:
        raise ValueError(f"{_at(path, unknown[0])}: unknown field; {cls.__name__}'s fields "
                         f"are {', '.join(sorted(fields))}")
    values = {name: _value(cls, fields[name], table[name], _at(path, name))
              for name in table if name != "kind"}
    return cls(**values)


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _value(owner, field, value, path: str):
    """One field's value, rebuilt from what the file holds."""
    if value is OFF and "bool" not in str(field.type):
        return None
    if field.metadata.get("dist"):
        return distribution(value, path)
    kind = PARTS.get((owner.__name__, field.name)) or _nested(owner, field.name)
    if kind is not None:
        return kind(value, path)
    return tuple(value) if isinstance(value, list) else value


def distribution(value, path: str):
    """A distribution from ``{kind = ..., ...}``, or a plain number (a fixed value)."""
    if not isinstance(value, dict):
        return value  # a number: the field's own check takes it as Deterministic
    kind = value.get("kind")
    if kind not in DISTRIBUTIONS:
        raise ValueError(f"{path}.kind must be one of {', '.join(DISTRIBUTIONS)}, got {kind!r}")
    params = {k: v for k, v in value.items() if k != "kind"}
    if kind == "Scaled":
        params["base"] = distribution(params.get("base"), f"{path}.base")
    if kind == "Empirical":
        params["values"] = tuple(params.get("values", ()))
    try:
        return DISTRIBUTIONS[kind](**params)
    except TypeError as error:
        raise TypeError(f"{path}: {error}") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _config(cls):
    return lambda value, path: _build(cls, value, path)


@functools.cache
def _nested(owner, name: str):
    """A builder for a field whose type is one configuration class (or it or None), read off
    the field's annotation: a new configuration table needs no line in :data:`PARTS`."""
    hint = typing.get_type_hints(owner)[name]
    kinds = [k for k in typing.get_args(hint) or (hint,) if k is not type(None)]
    if len(kinds) == 1 and isinstance(kinds[0], type) and issubclass(kinds[0], Config):
        return _config(kinds[0])
    return None


def _model(default_cls):
    """An LLM table: a plain LLM, or the ``kind`` it names (OnPrem, SelfHosted)."""
    from . import config

    def build(value, path):
        kind = value.get("kind", default_cls.__name__) if isinstance(value, dict) else None
        cls = {"LLM": config.LLM, "OnPrem": config.OnPrem,
               "SelfHosted": config.SelfHosted}.get(kind)
        if cls is None:
            raise ValueError(f"{path}.kind must be one of 'LLM', 'OnPrem', 'SelfHosted', got "
                             f"{kind!r}")
        return _build(cls, value, path)
    return build


def _items(build):
    def many(value, path):
        if not isinstance(value, list):
            raise TypeError(f"{path} must be an array of tables, got {value!r}")
        return tuple(build(item, f"{path}[{i}]") for i, item in enumerate(value))
    return many


def _fault(value, path):
    kind = value.get("kind") if isinstance(value, dict) else None
    if kind not in FAULTS:
        raise ValueError(f"{path}.kind must be one of {', '.join(FAULTS)}, got {kind!r}")
    return _build(FAULTS[kind], value, path)


def _parts() -> dict:
    """The tables :func:`_nested` cannot read off an annotation: a choice of classes (a model,
    a fault), or an array of tables."""
    from . import config
    return {
        ("Scenario", "llm"): _model(config.LLM),
        ("Scenario", "onprem"): _model(config.OnPrem),
        ("Scenario", "tools"): _items(_config(config.Tool)),
        ("Scenario", "faults"): _items(_fault),
        ("Workload", "flash_crowds"): _items(_config(config.FlashCrowd)),
        ("Failover", "backup"): _model(config.LLM),
    }


PARTS = _parts()
"""Which configuration class each nested table of a file is, by (owner class, field)."""
