"""Cost: what a design spends, in US dollars.

Two kinds of money. *Infrastructure* is paid by the hour whether busy or idle: worker replicas,
tool and context service replicas, an on-premises model if there is one, and a fixed operating
overhead per deployed service (each service needs its own deploys, dashboards and on-call: a
monolith is one service, microservices are several). *Usage* is paid per turn: LLM tokens in and
out (each model bills its calls as they end, at its own prices and its cache's, see
:mod:`simlib.provider`), and context-store operations. "Cost per ok turn" divides both by the
turns that succeeded, which is how "low budget" is judged.

Each component declares its own part (:mod:`simlib.components`: ``per_hour``, ``services`` and
``prices``); this module adds them up.
"""

from __future__ import annotations

import numpy as np

from .layout import kinds
from .scenario import Scenario


def services(scenario: Scenario) -> list[str]:
    """The separately deployed services of a design."""
    return [name for kind in kinds(scenario) for name in kind.services(scenario)]


def infrastructure_per_hour(scenario: Scenario) -> float:
    """Dollars per hour for replicas, per-service overhead and an on-premises model."""
    replicas = sum(kind.per_hour(scenario) for kind in kinds(scenario))
    return replicas + len(services(scenario)) * scenario.costs.service_overhead_per_hour


def prices(scenario: Scenario) -> dict[str, float]:
    """Dollars per 1,000 of each turns-table column that is billed per use after the run
    (store operations), as the components declare them."""
    return {column: price for kind in kinds(scenario)
            for column, price in kind.prices(scenario.costs).items()}


def turn_cost(scenario: Scenario, turns) -> float | np.ndarray:
    """Usage cost of turns priced after the run, from their billed columns (``turns`` maps a
    column name to a number, for one turn, or to a numpy array, for many: the recorder prices
    every row at once)."""
    total = 0.0
    for column, price in prices(scenario).items():
        total = total + turns[column] * price
    return total / 1000
