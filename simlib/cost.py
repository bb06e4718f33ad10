"""Cost: what a design spends, in US dollars.

Two kinds of money. *Infrastructure* is paid by the hour whether busy or idle: worker replicas,
tool and context service replicas, an on-premises model if there is one, and a fixed operating
overhead per deployed service (each service needs its own deploys, dashboards and on-call: a
monolith is one service, microservices are several). *Usage* is paid per turn: LLM tokens in and
out, and context-store operations. "Cost per ok turn" divides both by the turns that succeeded,
which is how "low budget" is judged.
"""

from __future__ import annotations

import numpy as np

from .config import Costs
from .scenario import Scenario


def services(scenario: Scenario) -> list[str]:
    """The separately deployed services of a design."""
    if not scenario.architecture.remote:
        return ["agent"]
    names = ["orchestrator"] + [f"tool:{t.name}" for t in scenario.tools]
    if not scenario.architecture.stateful:
        names.append("context")
    return names


def infrastructure_per_hour(scenario: Scenario) -> float:
    """Dollars per hour for replicas, per-service overhead and an on-premises model."""
    onprem = scenario.costs.onprem_per_hour if scenario.onprem is not None else 0.0
    return onprem + _replicas_per_hour(scenario)


def _replicas_per_hour(scenario: Scenario) -> float:
    c, workers = scenario.costs, scenario.workers.count
    overhead = len(services(scenario)) * c.service_overhead_per_hour
    if not scenario.architecture.remote:  # each replica carries every tool
        return workers * (c.worker_per_hour + len(scenario.tools) * c.tool_replica_per_hour) \
            + overhead
    tools = sum(t.replicas for t in scenario.tools) * c.tool_replica_per_hour
    context = scenario.services.context_replicas * c.context_replica_per_hour \
        if not scenario.architecture.stateful else 0.0
    return workers * c.worker_per_hour + tools + context + overhead


def turn_cost(costs: Costs, tokens_in: float | np.ndarray, tokens_out: float | np.ndarray,
              store_ops: float | np.ndarray) -> float | np.ndarray:
    """Usage cost of turns: LLM tokens and store operations (numbers for one turn, or numpy
    arrays for many: the recorder prices every row at once)."""
    return (tokens_in * costs.llm_input_per_1k + tokens_out * costs.llm_output_per_1k
            + store_ops * costs.store_per_1k_ops) / 1000
