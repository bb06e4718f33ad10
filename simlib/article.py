"""The source article's claims, each with an id that the notebooks' verdict tables cite.

"Resilient AI Agents: Comparing Architectural Approaches for Production" (dorjamie, DEV
Community, https://dev.to/dorjamie/resilient-ai-agents-comparing-architectural-approaches-for-production-1en6)
sets six architectures side by side (the two ends of three axes), each with its pros, cons and
what it is best for, then gives four rules for choosing and one warning. The lab turns each into
an experiment; a verdict row names the claims it tests by these ids, and ``tools/scorecard.py``
gathers every row into ``docs/scorecard.md``, one line per claim.
"""

from __future__ import annotations

TITLE = "Resilient AI Agents: Comparing Architectural Approaches for Production"
URL = ("https://dev.to/dorjamie/resilient-ai-agents-comparing-architectural-approaches-for-"
       "production-1en6")

CLAIMS: dict[str, tuple[str, str, str]] = {
    # id: (architecture or section, kind, the article's words, shortened)
    "stateless.scale": ("stateless", "pro", "simpler to scale horizontally: any instance can "
                        "handle any request"),
    "stateless.recovery": ("stateless", "pro", "easy recovery from failures: just spin up a "
                           "new instance"),
    "stateless.memory": ("stateless", "pro", "lower memory footprint per instance"),
    "stateless.no_sync": ("stateless", "pro", "no complex state synchronization between "
                          "instances"),
    "stateless.context": ("stateless", "con", "can't maintain conversation context without "
                          "external storage"),
    "stateless.latency": ("stateless", "con", "higher latency when context must be loaded "
                          "from databases"),
    "stateless.fetch_cost": ("stateless", "con", "increased costs from repeatedly fetching "
                             "external state"),
    "stateless.learning": ("stateless", "con", "limited ability to learn from recent "
                           "interactions"),
    "stateless.best": ("stateless", "best for", "high-volume, simple request-response: "
                       "classification, simple Q&A bots, stateless API services"),
    "stateful.conversation": ("stateful", "pro", "natural conversation flow with context "
                              "retention"),
    "stateful.optimise": ("stateful", "pro", "can optimize based on user interaction "
                          "patterns"),
    "stateful.latency": ("stateful", "pro", "lower latency for context-dependent operations"),
    "stateful.reasoning": ("stateful", "pro", "more sophisticated multi-turn reasoning"),
    "stateful.persistence": ("stateful", "con", "complex state persistence and recovery "
                             "mechanisms needed"),
    "stateful.scale": ("stateful", "con", "harder to scale: must route users to specific "
                       "instances or share state"),
    "stateful.memory": ("stateful", "con", "more memory and storage required"),
    "stateful.best": ("stateful", "best for", "personal assistants and complex workflows"),
    "sync.predictable": ("sync", "pro", "predictable, easy to debug"),
    "sync.slow": ("sync", "con", "slow performance and wasted resources"),
    "sync.best": ("sync", "best for", "simple workflows with strict ordering"),
    "async.throughput": ("async", "pro", "high throughput and better resource use"),
    "async.errors": ("async", "con", "harder to debug and complex error handling"),
    "async.best": ("async", "best for", "systems managing multiple external services"),
    "monolith.simple": ("monolith", "pro", "simple deployment and low overhead"),
    "monolith.crash": ("monolith", "con", "one error can crash the whole system"),
    "monolith.best": ("monolith", "best for", "small teams and rapid prototyping"),
    "microservices.scale": ("microservices", "pro", "scale parts separately"),
    "microservices.isolate": ("microservices", "pro", "isolate failures"),
    "microservices.complexity": ("microservices", "con", "high operational complexity and "
                                 "network latency"),
    "microservices.best": ("microservices", "best for", "large-scale systems and big "
                           "organizations"),
    "choose.low_budget": ("how to choose", "rule", "low budget: start with stateless and "
                          "monolithic designs"),
    "choose.high_scale": ("how to choose", "rule", "high scale: microservices with async "
                          "processing"),
    "choose.complex_chat": ("how to choose", "rule", "complex conversations: stateful with "
                            "strong data storage"),
    "choose.compliance": ("how to choose", "rule", "strict compliance: on-premises or hybrid "
                          "setups"),
    "choose.start_simple": ("how to choose", "warning", "do not over-engineer early: start "
                            "simple and evolve"),
}
"""Every claim of the article, by id."""


def check(ids: str) -> list[str]:
    """The claim ids of a verdict row (comma-separated; "" for a claim beyond the article),
    each checked to be one of :data:`CLAIMS`."""
    out = [i.strip() for i in ids.split(",") if i.strip()]
    unknown = [i for i in out if i not in CLAIMS]
    if unknown:
        raise ValueError(f"article claim ids must be among simlib.article.CLAIMS, got "
                         f"{unknown}")
    return out
