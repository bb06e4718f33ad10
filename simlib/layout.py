"""Layout: which components a scenario has, by name.

This is the one list of the system's parts. Each name is what a fault targets (``"llm"``,
``"store"``, ``"tools.search"``, ...) and what the engine builds, with the configuration it is
built from; every component says the rest about itself (:mod:`simlib.components`). A new kind
of component is one line here.
"""

from __future__ import annotations

from .components import Component, Hop, Store, ToolService, Worker
from .config import SelfHosted
from .guardrail import GuardrailCheck
from .provider import LLMProvider
from .serving import SelfHostedProvider

KINDS = (Worker, LLMProvider, SelfHostedProvider, GuardrailCheck, ToolService, Store, Hop)
"""Every kind of component, in build order."""


def model(config) -> type[LLMProvider]:
    """The component that serves a model's configuration: hosted, or self-hosted engines."""
    return SelfHostedProvider if isinstance(config, SelfHosted) else LLMProvider


def layout(scenario) -> dict[str, tuple[type[Component], object]]:
    """The components ``scenario`` has: name -> (kind, its configuration), in the order the
    engine builds them."""
    parts: dict[str, tuple[type[Component], object]] = {
        "workers": (Worker, scenario.workers), "llm": (model(scenario.llm), scenario.llm)}
    failover = scenario.resilience.failover
    if failover is not None:
        parts["llm_backup"] = (model(failover.backup), failover.backup)
    if scenario.onprem is not None:
        parts["onprem"] = (model(scenario.onprem), scenario.onprem)
    if scenario.guardrail is not None:
        parts["guardrail"] = (GuardrailCheck, scenario.guardrail)
    parts.update({f"tools.{t.name}": (ToolService, t) for t in scenario.tools})
    parts.update({"store": (Store, scenario.store), "network": (Hop, scenario.network)})
    return parts


def kinds(scenario) -> list[type[Component]]:
    """Each kind of component ``scenario`` has, once, in build order (for costs and causes)."""
    return list(dict.fromkeys(kind for kind, _ in layout(scenario).values()))
