"""Faults: what goes wrong, written down as data and handed to a scenario.

The architectures contain no fault code. A fault is a small frozen object naming a *target* and a
time (or a random process of times); during a run, one SimPy process per fault switches the
target's state at those times, the way a chaos-engineering tool would:

* :class:`Outage` - the target fails a share of calls for a window (``error_rate=1``: a full
  outage; 0.25: a brown-out). Targets: ``llm`` (and ``llm_backup``, ``onprem`` when the
  scenario has them), ``store``, ``network``, ``tools.<name>``.
* :class:`Overloaded` - the LLM provider's own overload (529): a share of calls is refused at
  once, unbilled, whatever your quota. Targets: ``llm``, ``llm_backup``.
* :class:`LatencySpike` - the target is ``factor`` times slower for a window (also ``workers``:
  CPU bursts slow down).
* :class:`Partition` - microservices only: the network between the orchestrator and one service
  (``context`` or ``tools.<name>``) is cut; calls across it fail.
* :class:`Crash` - the target stops at ``at`` and restarts ``restart`` seconds later.
  ``workers`` (replica ``index``): every turn on it fails and a stateful replica loses the
  contexts it held. ``tools.<name>``: in a monolith the whole replica ``index`` goes down (any
  part crashing takes the unit down); in microservices replica ``index`` of that tool's service
  does, failing the calls in progress on it while its other replicas serve. ``index=None``
  crashes every replica at once (a bad deploy). ``store``: every context read and write fails
  until it is back.
* :class:`RandomCrashes` and :class:`RandomOutages` - the same, at random: up for an exponential
  time with mean ``mttf`` (or ``mean_between``), down for a random repair time.
* :class:`simlib.config.FlashCrowd` may be given here too: the arrival rate times a factor.

A provider's 429 rate limits are the LLM's own configuration (``llm.requests_per_minute``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config, FlashCrowd
from .dists import LogNormal
from .layout import layout
from .validate import check_number, check_probability, check_type


def _check(path: str, target, allowed: list[str]) -> None:
    """``target`` must be one of ``allowed``."""
    check_type(path, target, str, "a target name")
    if target not in allowed:
        options = ", ".join(repr(t) for t in allowed)
        raise ValueError(f"{path} must be one of {options}, got {target!r}")


class Fault(Config):
    """Base of the faults: what it does to its target (``effect``), and so which of the
    scenario's components it may name (those affected by that effect, see
    :attr:`simlib.components.Component.affected_by`)."""

    effect = "errors"

    def check_target(self, path: str, scenario) -> None:
        allowed = [name for name, (kind, _) in layout(scenario).items()
                   if self.effect in kind.affected_by]
        _check(f"{path}.target", self.target, allowed)


class Window(Fault):
    """A fault that starts at ``start`` and lasts ``duration`` seconds."""

    def validate(self):
        check_number(self._at("start"), self.start, low=0)
        check_number(self._at("duration"), self.duration, low=0, strict=True)

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True)
class Outage(Window):
    """The target fails ``error_rate`` of its calls from ``start`` for ``duration`` seconds."""

    path = "Outage"

    target: str = "llm"
    start: float = 0.0
    duration: float = 60.0
    error_rate: float = 1.0

    def validate(self):
        super().validate()
        check_probability(self._at("error_rate"), self.error_rate)


@dataclass(frozen=True)
class Overloaded(Window):
    """The provider itself is short of capacity (Anthropic's 529 ``overloaded_error``, a
    capacity 429 or 503 elsewhere) from ``start`` for ``duration`` seconds: ``error_rate`` of
    the calls are refused at once, unbilled, with cause ``overloaded``. Your quota does not
    cause it and a higher tier does not fix it; SDKs retry it like a server error."""

    path = "Overloaded"

    effect = "overload"
    target: str = "llm"
    start: float = 0.0
    duration: float = 60.0
    error_rate: float = 0.5

    def validate(self):
        super().validate()
        check_probability(self._at("error_rate"), self.error_rate)


@dataclass(frozen=True)
class LatencySpike(Window):
    """The target takes ``factor`` times as long from ``start`` for ``duration`` seconds."""

    path = "LatencySpike"

    effect = "slow"
    target: str = "llm"
    start: float = 0.0
    duration: float = 60.0
    factor: float = 5.0

    def validate(self):
        super().validate()
        check_number(self._at("factor"), self.factor, low=0, strict=True)


@dataclass(frozen=True)
class Partition(Window):
    """Microservices: calls between the orchestrator and ``target`` fail for the window."""

    path = "Partition"

    target: str = "context"
    start: float = 0.0
    duration: float = 60.0

    def check_target(self, path: str, scenario) -> None:
        """A partition cuts the way to a service: the context service or a tool's."""
        _check(f"{path}.target", self.target,
               ["context"] + [f"tools.{t.name}" for t in scenario.tools])


@dataclass(frozen=True)
class Crash(Fault):
    """Replica ``index`` of the target crashes at ``at`` and is back ``restart`` seconds later
    (see module doc); ``index=None`` crashes every replica at once, a correlated failure such
    as a bad deploy or a poison input that every replica chokes on."""

    path = "Crash"

    effect = "crash"
    target: str = "workers"
    at: float = 0.0
    restart: float = 30.0
    index: int | None = 0

    def validate(self):
        check_number(self._at("at"), self.at, low=0)
        check_number(self._at("restart"), self.restart, low=0, strict=True)
        check_number(self._at("index"), self.index, low=0, integer=True, optional=True)

    def check_target(self, path: str, scenario) -> None:
        super().check_target(path, scenario)
        if self.index is not None and self.index >= scenario.workers.count:
            raise ValueError(f"{path}.index must be < workers.count "
                             f"({scenario.workers.count}) or None, got {self.index!r}")


@dataclass(frozen=True)
class RandomCrashes(Fault):
    """Replica ``index`` of the target (every replica when None, each on its own) runs for an
    exponential time with mean ``mttf`` seconds, then is down for an exponential time with mean
    ``mttr``: in the long run it is up MTTF / (MTTF + MTTR) of the time."""

    path = "RandomCrashes"

    effect = "crash"
    target: str = "workers"
    mttf: float = 3600.0
    mttr: float = 60.0
    index: int | None = None

    def validate(self):
        check_number(self._at("mttf"), self.mttf, low=0, strict=True)
        check_number(self._at("mttr"), self.mttr, low=0, strict=True)
        check_number(self._at("index"), self.index, low=0, integer=True, optional=True)


@dataclass(frozen=True)
class RandomOutages(Fault):
    """Incidents at random: between them an exponential time with mean ``mean_between``; each
    lasts a log-normal time with median ``median_duration`` and 95th percentile
    ``p95_duration`` and fails ``error_rate`` of the target's calls."""

    path = "RandomOutages"

    target: str = "llm"
    mean_between: float = 5 * 86400.0
    median_duration: float = 3600.0
    p95_duration: float = 4 * 3600.0
    error_rate: float = 1.0

    def validate(self):
        check_number(self._at("mean_between"), self.mean_between, low=0, strict=True)
        check_number(self._at("median_duration"), self.median_duration, low=0, strict=True)
        check_number(self._at("p95_duration"), self.p95_duration, low=self.median_duration,
                     strict=True, what="median_duration")
        check_probability(self._at("error_rate"), self.error_rate)


FAULTS = (Outage, Overloaded, LatencySpike, Partition, Crash, RandomCrashes, RandomOutages,
          FlashCrowd)


INCIDENTS = {"mean_between": 3.36 * 86400.0, "median_duration": 1.3 * 3600.0,
             "p95_duration": 7.7 * 3600.0}
"""The OpenAI API's incidents from July 2023 to August 2024: 127 of them, one every 3.36 days,
lasting 1.3 h at the median and 7.7 h at the 95th percentile (status-page incidents collected
for "An Empirical Characterization of Outages and Incidents in Public Services for Large
Language Models", ICPE 2025, atlarge-research/llm-service-analysis, recomputed from its
``incident_stages.csv``). Anthropic's API: one every 5.2 to 5.6 days, median 0.68 h, p95 11 h.
Only 11 of the 127 overlapped an Anthropic incident."""


def provider_incidents(target: str = "llm", error_rate: float = 1.0) -> RandomOutages:
    """Incidents at a hosted provider as its status page shows them (:data:`INCIDENTS`): an
    incident every 3.4 days on average, half of them over within 1.3 hours, one in twenty
    lasting more than 7.7 hours. ``error_rate`` is the share of calls an incident fails (an
    incident is not always a full outage)."""
    return RandomOutages(target=target, error_rate=error_rate, **INCIDENTS)


def windows(scenario) -> list[tuple[float, float]]:
    """The (start, end) of every fixed-time fault window, for recovery metrics and plots."""
    out = []
    for fault in scenario.faults:
        if isinstance(fault, Window):
            out.append((fault.start, fault.end))
        elif isinstance(fault, Crash):
            out.append((fault.at, fault.at + fault.restart))
        elif isinstance(fault, FlashCrowd):
            out.append((fault.start, fault.start + fault.duration))
    return sorted(out)


# -- during a run: one process per fault switches its target's state -----------------------------


def start(run) -> None:
    """Start the processes that play every fault of ``run.scenario`` on ``run``'s components."""
    for i, fault in enumerate(run.scenario.faults):
        rng = run.streams.generator("faults", f"{i}:{type(fault).__name__}")
        for process in PLAYERS.get(type(fault), lambda *_: [])(run, fault, rng):
            run.env.process(process)


def targets(run, name: str) -> list:
    """The run-time components a target name stands for (every replica of it)."""
    return run.components[name]


def _window(run, fault, switch):
    yield run.env.timeout(fault.start)
    switch(True)
    yield run.env.timeout(fault.duration)
    switch(False)


def _outage(run, fault, rng):
    def switch(on):
        for target in targets(run, fault.target):
            target.add_outage(fault.error_rate, on)
    return [_window(run, fault, switch)]


def _overloaded(run, fault, rng):
    def switch(on):
        for target in targets(run, fault.target):
            target.add_overload(fault.error_rate, on)
    return [_window(run, fault, switch)]


def _spike(run, fault, rng):
    def switch(on):
        for target in targets(run, fault.target):
            target.spike(fault.factor, on)
    return [_window(run, fault, switch)]


def _partition(run, fault, rng):
    def switch(on):
        (run.hop.cut.append if on else run.hop.cut.remove)(fault.target)
    return [_window(run, fault, switch)]


def _down_up(run, fault, index: int):
    """The two halves of a crash of replica ``index`` of the target: what goes down, and how
    it comes back. The index counts the workers' replicas; a target with fewer (a service of
    two replicas, the one store) takes it modulo its own count."""
    replicas = targets(run, fault.target)
    return replicas[index % len(replicas)].down_up()


def _crash(run, fault, rng):
    def play(index):
        down, up = _down_up(run, fault, index)
        yield run.env.timeout(fault.at)
        down()
        yield run.env.timeout(fault.restart)
        up()
    replicas = len(targets(run, fault.target))
    return [play(i) for i in (range(replicas) if fault.index is None else [fault.index])]


def _random_crashes(run, fault, rng):
    def play(index):
        down, up = _down_up(run, fault, index)
        while True:
            yield run.env.timeout(rng.exponential(fault.mttf))
            down()
            yield run.env.timeout(rng.exponential(fault.mttr))
            up()
    replicas = len(targets(run, fault.target))
    indices = [fault.index or 0] if fault.index is not None or replicas == 1 else \
        range(replicas)
    return [play(i) for i in indices]


def _random_outages(run, fault, rng):
    repair = LogNormal(fault.median_duration, fault.p95_duration)

    def play():
        while True:
            yield run.env.timeout(rng.exponential(fault.mean_between))
            for target in targets(run, fault.target):
                target.add_outage(fault.error_rate, True)
            yield run.env.timeout(float(repair.sample(rng, 1)[0]))
            for target in targets(run, fault.target):
                target.add_outage(fault.error_rate, False)
    return [play()]


PLAYERS = {Outage: _outage, Overloaded: _overloaded, LatencySpike: _spike,
           Partition: _partition, Crash: _crash, RandomCrashes: _random_crashes,
           RandomOutages: _random_outages}


def crashable(scenario) -> set[str]:
    """The targets some fault may crash (their components need a crash event)."""
    return {f.target for f in scenario.faults if isinstance(f, (Crash, RandomCrashes))}
