"""An input guardrail: a moderation check every turn's prompt passes before the agent starts.

Production agents often send the user's message to a classifier first (OpenAI's moderation
endpoint, Llama Guard served behind an API, a PII filter), as LiteLLM's guardrails do in their
``pre_call`` mode. For the system it is one more dependency on every turn's path: its latency
adds to every answer, its capacity can queue turns, and its errors fail them. This module is
that dependency, and it is also the worked example of a new component (DESIGN.md section 4b): the
component declares itself here, one line of :mod:`simlib.layout` lists it, one field of the
:class:`simlib.Scenario` holds its configuration, and :func:`simlib.architectures.deliver` is
the place a turn calls it. Faults, the error causes, the timeline and the bad-input checks pick
it up from what it declares.

    scenario.with_(guardrail=Guardrail(latency=LogNormal(median=0.1, p95=0.3)))

What a flagged prompt leads to (a refusal the user sees) is a product decision, not a load on
the system, and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from .components import Component, resource
from .config import Config
from .dists import Distribution
from .streams import Streams
from .validate import check_number, check_probability


@dataclass(frozen=True)
class Guardrail(Config):
    """The guardrail a turn's prompt passes first: ``latency`` per check (no default: measure
    yours), at most ``capacity`` checks at once (None: unlimited; more queue), an
    ``error_rate``, and ``per_1k_checks`` dollars. The default price is OpenAI's: "The
    moderation endpoint is free to use when monitoring the inputs and outputs of OpenAI APIs"
    (OpenAI Help Center, "Moderation", as quoted on community.openai.com/t/673566)."""

    path = "guardrail"
    latency: Distribution = field(metadata={"dist": True})
    capacity: int | None = None
    error_rate: float = 0.0
    per_1k_checks: float = 0.0

    def validate(self):
        check_number(self._at("capacity"), self.capacity, low=1, integer=True, optional=True)
        check_probability(self._at("error_rate"), self.error_rate)
        check_number(self._at("per_1k_checks"), self.per_1k_checks, low=0)


class GuardrailCheck(Component):
    """The guardrail as a component: a hosted API (its network time is in its latency)."""

    name = "guardrail"
    stream = "guardrail"
    causes = ("guardrail_error", "service_down", "crash")
    affected_by = frozenset({"errors", "slow", "crash"})
    columns = ("guardrail_busy",)
    remote = False

    @staticmethod
    def sample(instances: list) -> tuple[float, ...]:
        slots = instances[0].slots
        return (slots.count if slots is not None else float("nan"),)

    def __init__(self, env: simpy.Environment, config: Guardrail, streams: Streams):
        super().__init__(env, config.error_rate)
        self.slots = resource(env, config.capacity)
        self.latency = streams.draws("guardrail", "latency", config.latency)
        self.coin = streams.uniform("guardrail")
        self.price = config.per_1k_checks / 1000

    def serve(self, turn):
        """One check of the turn's prompt; returns None or the cause."""
        turn.cost += self.price
        if self.down:
            return "service_down"
        cause = yield from self.hold(self.latency() * self.slow)
        if cause is None and self.coin() < self.error_rate:
            cause = "guardrail_error"
        return cause
