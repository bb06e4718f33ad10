"""The scenario: everything one simulation needs, as one validated tree of configuration.

``Scenario(architecture=..., workload=..., llm=..., ...)`` gathers the parts of
:mod:`simlib.config`, the faults (:mod:`simlib.faults`) and the resilience policies
(:mod:`simlib.resilience`). ``scenario.with_(**{"workload.arrival_rate": 8.0})`` returns a changed
copy; an unknown path raises.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .config import (
    LLM,
    Architecture,
    Compliance,
    Config,
    ContextStore,
    Costs,
    Network,
    OnPrem,
    SelfHosted,
    Services,
    Tool,
    Workers,
    Workload,
)
from .faults import FAULTS
from .guardrail import Guardrail
from .resilience import Resilience
from .validate import check_number, check_type


@dataclass(frozen=True)
class Scenario(Config):
    """Everything one simulation needs. ``faults`` is a tuple of fault objects (data: windows,
    crashes, random failure processes); ``resilience`` the policies. ``duration`` is the simulated
    time in seconds; turns that arrive before ``warmup`` are run but left out of the summary;
    ``slo_latency`` is the latency target of SLO attainment; the timeline samples the system every
    ``sample_every`` seconds."""

    architecture: Architecture = field(default_factory=Architecture)
    workload: Workload = field(default_factory=Workload)
    llm: LLM = field(default_factory=LLM)
    tools: tuple = (Tool(),)
    store: ContextStore = field(default_factory=ContextStore)
    workers: Workers = field(default_factory=Workers)
    network: Network = field(default_factory=Network)
    services: Services = field(default_factory=Services)
    costs: Costs = field(default_factory=Costs)
    faults: tuple = ()
    resilience: Resilience = field(default_factory=Resilience)
    onprem: OnPrem | SelfHosted | None = None
    compliance: Compliance = field(default_factory=Compliance)
    guardrail: Guardrail | None = None
    duration: float = 600.0
    warmup: float = 60.0
    slo_latency: float = 10.0
    sample_every: float = 1.0

    def validate(self):
        parts = {"architecture": Architecture, "workload": Workload, "llm": LLM,
                 "store": ContextStore, "workers": Workers, "network": Network,
                 "services": Services, "costs": Costs, "resilience": Resilience,
                 "compliance": Compliance}
        for name, kind in parts.items():
            check_type(name, getattr(self, name), kind, f"a simlib {kind.__name__}")
        check_type("tools", self.tools, tuple, "a tuple of Tool")
        for i, tool in enumerate(self.tools):
            check_type(f"tools[{i}]", tool, Tool, "a Tool")
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ValueError(f"tools must have distinct names, got {names}")
        if self.workload.tools_per_step.mean > 0 and not self.tools:
            raise ValueError("tools must hold at least one Tool when workload.tools_per_step "
                             f"has mean {self.workload.tools_per_step.mean:g} > 0, got ()")
        if self.onprem is not None:
            check_type("onprem", self.onprem, (OnPrem, SelfHosted),
                       "a simlib OnPrem, a SelfHosted or None")
        if self.guardrail is not None:
            check_type("guardrail", self.guardrail, Guardrail, "a simlib Guardrail or None")
        check_type("faults", self.faults, tuple, "a tuple of faults")
        for i, fault in enumerate(self.faults):
            check_type(f"faults[{i}]", fault, FAULTS, "a fault from simlib.faults")
            fault.check_target(f"faults[{i}]", self)
        check_number("duration", self.duration, low=0, strict=True)
        check_number("warmup", self.warmup, low=0)
        if self.warmup >= self.duration:
            raise ValueError(f"warmup must be < duration ({self.duration!r}), "
                             f"got {self.warmup!r}")
        check_number("slo_latency", self.slo_latency, low=0, strict=True)
        check_number("sample_every", self.sample_every, low=0, strict=True,)
        if self.duration / self.sample_every > 1_000_000:
            raise ValueError(f"sample_every must be >= duration / 1e6 "
                             f"({self.duration / 1e6:g}), got {self.sample_every!r}")

    def with_(self, **changes) -> Scenario:
        """A copy with fields changed by dotted path, e.g. ``{"workload.arrival_rate": 8.0}``.

        Tools are reached by name: ``{"tools.search.error_rate": 0.1}``. Unknown paths raise
        ValueError listing what exists. All changes are applied together and the result is
        validated once, so related changes (``duration`` and ``warmup``) may come in any order.
        """
        return _replace(self, {tuple(path.split(".")): (path, v) for path, v in changes.items()})


def _replace(obj, changes: dict):
    """``obj`` with every ``keys -> (dotted, value)`` change applied, each object remade once."""
    by_head: dict[str, dict] = {}
    for keys, change in changes.items():
        by_head.setdefault(keys[0], {})[keys[1:]] = change
    if isinstance(obj, tuple):  # the tools, reached by name
        return _replace_tools(obj, by_head)
    fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    new = {}
    for head, sub in by_head.items():
        if head not in fields:
            dotted = next(iter(sub.values()))[0]
            raise ValueError(f"unknown path {dotted!r}: {type(obj).__name__} has no field "
                             f"{head!r}; fields are {sorted(fields)}")
        whole = sub.pop((), None)
        value = whole[1] if whole is not None else getattr(obj, head)
        new[head] = _replace(value, sub) if sub else value
    return dataclasses.replace(obj, **new)


def _replace_tools(tools: tuple, by_head: dict) -> tuple:
    names = [getattr(item, "name", None) for item in tools]
    items = list(tools)
    for head, sub in by_head.items():
        if head not in names:
            dotted = next(iter(sub.values()))[0]
            raise ValueError(f"unknown path {dotted!r}: no tool named {head!r}; "
                             f"tools are {names}")
        i = names.index(head)
        whole = sub.pop((), None)
        items[i] = whole[1] if whole is not None else items[i]
        items[i] = _replace(items[i], sub) if sub else items[i]
    return tuple(items)
