"""simlib: simulate AI-agent architectures under load and faults, checked against queueing theory.

    import simlib as sl
    scenario = sl.presets.mmc(arrival_rate=3.0, service_mean=1.0, servers=4)
    result = sl.run(scenario, seed=1)
    result.summary()["latency_p95"]

See DESIGN.md for the model; every public name is listed in ``__all__``.
"""

from . import capacity, dists, faults, presets, stats, theory
from .config import (
    DEPLOYMENTS,
    EXECUTIONS,
    LLM,
    STATES,
    Architecture,
    Bursts,
    Compliance,
    ContextStore,
    Costs,
    FlashCrowd,
    Network,
    OnPrem,
    PromptCache,
    SelfHosted,
    Services,
    StepTime,
    Tool,
    Workers,
    Workload,
)
from .engine import run
from .experiment import replicate, sweep
from .records import OUTCOMES, Result
from .resilience import (
    Broker,
    Bulkhead,
    Checkpointing,
    CircuitBreaker,
    DeadLetter,
    DurableExecution,
    Failover,
    Fallback,
    LoadShedding,
    Policy,
    RateLimit,
    Resilience,
    Retry,
    RetryBudget,
    Timeout,
)
from .scenario import Scenario
from .stats import confidence_interval

__all__ = ["LLM", "OUTCOMES", "Architecture", "Broker", "Bulkhead", "Bursts", "Checkpointing",
           "CircuitBreaker", "Compliance", "ContextStore", "OnPrem", "Costs", "DeadLetter",
           "DurableExecution",
           "Failover", "Fallback", "FlashCrowd", "PromptCache", "SelfHosted", "StepTime",
           "LoadShedding", "Network", "Policy", "RateLimit", "Resilience", "Result", "Retry",
           "RetryBudget", "Scenario", "Services", "Timeout", "Tool", "Workers", "Workload",
           "capacity", "confidence_interval", "dists", "faults", "presets", "replicate", "run",
           "stats", "sweep", "theory"]

DESIGNS = [Architecture(s, e, d) for s in STATES for e in EXECUTIONS for d in DEPLOYMENTS]
"""The eight designs: one end of each of the three axes."""
__all__.append("DESIGNS")


def __getattr__(name: str):
    """``sl.plots``, ``sl.widgets`` and ``sl.panels`` load on first use: they need the ``lab``
    extra (plotly, ipywidgets); so do ``sl.files``, ``sl.fit`` and ``sl.review`` (your own
    system: scenario files, call logs, design reviews), which a plain run does not need."""
    if name in ("plots", "widgets", "panels", "files", "fit", "review"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'simlib' has no attribute {name!r}")

