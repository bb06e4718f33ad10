"""The agent loop: the steps of one turn, as real agents run them (DESIGN.md section 1b).

A turn's plan (:class:`simlib.workload.TurnPlan`) says how many steps the agent means to take and
what each one does: a CPU burst, one LLM call, some tool calls. Running it is messier, and this
module is that mess, step by step:

* **the context grows within the turn.** Each step resends everything so far: the conversation,
  the user's prompt, and the outputs and tool results of the steps before it. A turn of k steps
  with prompt P, outputs O and results R sends kP + (O+R)k(k-1)/2 input tokens: quadratic in k.
* **the window is finite.** When a call would send more than ``context_window`` tokens, the
  context is compacted first: summarised by one more LLM call, or truncated.
* **answers can be unusable.** A malformed tool call or a refusal comes back as an HTTP success;
  the agent re-asks (one more step, the bad answer now in the context). No breaker sees it.
* **tools fail in the open.** A failed tool call is fed back to the model as an observation, and
  the model takes one more step to react (unless the workload says such an error fails the turn).
* **loops are capped.** Past ``max_steps`` the turn fails with cause ``step_limit``.
* **a step can fan out.** Its tool calls may run at once, and a turn's first step may hand work
  to sub-agents, each an agent loop of its own whose answer comes back as a tool result.

Where a turn is in its loop lives in an :class:`Attempt`, one per delivery of the turn, so that
a durable turn resumes at its next step after a crash, and a duplicate delivery (a broker's
redelivery) runs its own copy.
"""

from __future__ import annotations

from .calls import ask, call, forget, spawn


class Attempt:
    """One delivery of a turn: the conversation it started from (``context``), what the turn
    added since (``grown``), the next planned step, steps run, and steps still owed to a
    re-ask or a tool error (``owed``)."""

    grown = step = steps_run = owed = tool_calls = 0  # the starting values (as TurnState's)
    number = 1  # 1 for the first delivery, 2 for the next ...

    def __init__(self, context: int, number: int = 1):
        self.context = context
        if number != 1:
            self.number = number


def loop(run, worker, state, session, plan, attempt: Attempt, prefix):
    """Run the turn's steps from where ``attempt`` stands; returns None or the cause.
    ``session`` is None for a sub-agent's loop (no sub-agents of its own)."""
    while attempt.step < len(plan.cpu) or attempt.owed:
        owed = attempt.owed > 0  # a step the plan did not foresee: a reaction to a tool's error
        cause = yield from step(run, worker, state, session, plan, attempt, prefix,
                                next_step(run, plan, attempt))
        if cause is None and not owed and attempt.step == 0 and run.subagents and \
                session is not None:
            cause = yield from subagents(run, worker, state, attempt, session)
        if cause is not None:
            return cause
        if run.durable is not None:
            yield from durable_write(run, state)
        if owed:  # done (and, when durable, written): a resume goes on from the next one
            attempt.owed -= 1
        else:
            attempt.step += 1
    return None


def next_step(run, plan, attempt: Attempt) -> tuple:
    """The work of the step ``attempt`` runs next, ``(cpu, ttft, output, tools)``: the plan's,
    or drawn now for a step the plan did not foresee (one owed to a tool's error)."""
    if attempt.owed:
        cpu, ttft, out = run.planner.extra_step()
        return cpu, ttft, out, ()
    k = attempt.step
    return plan.cpu[k], plan.ttft[k], plan.output_tokens[k], plan.tools[k]


def step(run, worker, state, session, plan, attempt, prefix, work):
    """One step: a CPU burst, one LLM call, re-asked while its answer is unusable (each re-ask
    a step, the bad answer left in the context), then the step's tool calls."""
    cpu, ttft, out, tools = work
    seconds = cpu * worker.slow
    if seconds > 0:
        yield from cpu_burst(run, worker, seconds)
    workload = run.workload
    while True:
        if workload.max_steps is not None and attempt.steps_run >= workload.max_steps:
            return "step_limit"
        attempt.steps_run += 1
        state.steps += 1
        tokens_in = attempt.context + plan.prompt_tokens + attempt.grown
        if workload.context_window is not None and tokens_in > workload.context_window:
            cause = yield from compact(run, state, plan, attempt, prefix)
            if cause is not None:
                return cause
            tokens_in = attempt.context + plan.prompt_tokens + attempt.grown
        llm = run.provider(state) if state.sensitive else run.llm
        if llm.cache is None and run.stateful and session is not None and \
                session.turns_done > 0 and not state.context_lost:
            ttft *= llm.config.prompt_cache_factor  # the first edition's cache: pinned only
        if run.failover is None:  # (ask's own first test, saved a call on the hot path)
            cause = yield from call(run, llm, state, ttft, tokens_in, out, prefix)
        else:
            cause = yield from ask(run, llm, state, (ttft, tokens_in, out, prefix))
        if cause is not None and run.scenario.resilience.fallback is not None:
            cause = yield from fall_back(run, state, cause, tokens_in, out)
        if cause is not None:
            return cause
        attempt.grown += out
        if not workload.semantic_error_rate or \
                run.semantic_coin() >= workload.semantic_error_rate:
            break
        _, ttft, out = run.planner.extra_step()  # re-ask
    if tools:
        return (yield from tool_calls(run, worker, state, attempt, tools))
    return None


def compact(run, state, plan, attempt, prefix):
    """Make the context fit the window: ``summarise`` (one LLM call reading up to the window
    and answering ``summary_tokens``: the history becomes that summary) or ``truncate`` (the
    oldest tokens dropped until the call holds half the window)."""
    workload = run.scenario.workload
    window = workload.context_window
    if workload.compaction == "truncate":
        room = max(0, window // 2 - plan.prompt_tokens)
        attempt.grown = min(attempt.grown, room)
        attempt.context = min(attempt.context, room - attempt.grown)
        return None
    llm = run.provider(state) if state.sensitive else run.llm
    tokens_in = min(window, attempt.context + plan.prompt_tokens + attempt.grown)
    cause = yield from ask(run, llm, state, (run.planner.extra_ttft(), tokens_in,
                                             workload.summary_tokens, prefix))
    if cause is None:
        attempt.context, attempt.grown = workload.summary_tokens, 0
    return cause


def tool_calls(run, worker, state, attempt, tools):
    """The step's tool calls, one after another or all at once (``parallel_tools``). Their
    results join the context; a failed call is an observation the model reacts to in one more
    step (``tool_errors="observe"``), or fails the turn (``"fail"``)."""
    attempt.tool_calls += len(tools)
    if run.repeats_effects:
        side_effects(run, state, attempt.step, len(tools))  # the planned step under way
    if run.scenario.workload.parallel_tools and len(tools) > 1:
        causes = yield from in_parallel(run, worker, state, tools)
    else:
        causes = []
        for tool, latency, _ in tools:
            cause = yield from call(run, run.tool_dependency(worker, tool), state, latency)
            causes.append(cause)
            if cause is not None and run.scenario.workload.tool_errors == "fail":
                break
    failed = next((c for c in causes if c is not None), None)
    if failed is not None and run.scenario.workload.tool_errors == "fail":
        return failed
    attempt.grown += sum(result for (_, _, result), cause in zip(tools, causes, strict=False)
                         if cause is None)
    if failed is not None:
        attempt.owed += 1
    return None


def side_effects(run, state, step: int, calls: int) -> None:
    """Tools that are not idempotent, under a broker that may deliver a turn twice: the tool
    calls of a planned step that another delivery of the turn already made are side effects
    repeated (an email sent twice)."""
    if state.effects is None:
        state.effects = set()
    if step in state.effects:
        state.repeated_effects += calls
        if state.row >= 0:
            run.late.append(state)
    else:
        state.effects.add(step)


def in_parallel(run, worker, state, tools):
    """Start every tool call at once, wait for all: their causes, in order."""
    procs = [spawn(run, call(run, run.tool_dependency(worker, tool), state, latency))
             for tool, latency, _ in tools]
    yield run.env.all_of(procs)
    for proc in procs:
        forget(run, proc)
    return [p.value for p in procs]


def subagents(run, worker, state, attempt, session):
    """Hand the turn's first step to ``subagents`` sub-agents at once, each an agent loop with
    its own fresh context; their final answers come back as tool results. The first failure
    fails the step."""
    procs = [spawn(run, _sub(run, worker, state, run.sub_planner.turn(first=True), Attempt(0),
                             (session.id, state.number, i)))
             for i in range(run.subagents)]
    yield run.env.all_of(procs)
    for proc in procs:
        forget(run, proc)
    results = [p.value if isinstance(p.value, tuple) else (p.value, 0) for p in procs]
    attempt.grown += sum(tokens for _, tokens in results)
    return next((cause for cause, _ in results if cause is not None), None)


def _sub(run, worker, state, plan, sub: Attempt, prefix):
    """A sub-agent's loop; returns its cause and the length of its final answer."""
    cause = yield from loop(run, worker, state, None, plan, sub, prefix)
    return cause, plan.output_tokens[-1]


def cpu_burst(run, worker, seconds: float):
    """A CPU burst on one of the worker's cores (bursts beyond them queue): a sync turn keeps
    its thread meanwhile, an async turn holds nothing else."""
    with worker.cpu.request() as core:
        yield core
        yield run.env.timeout(seconds)


def fall_back(run, state, cause: str, tokens_in: int, tokens_out: int):
    """A degraded answer after the LLM call failed for good: it takes its latency, costs its
    tokens, and may fail too (then the LLM's cause stands)."""
    fallback = run.scenario.resilience.fallback
    yield run.env.timeout(run.fallback_latency())
    if run.fallback_coin() < fallback.error_rate:
        return cause
    state.cost += (tokens_in * fallback.input_per_1k + tokens_out * fallback.output_per_1k) \
        / 1000
    state.degraded = True
    return None


def durable_write(run, state):
    """Durable execution: the completed step written to the durable log (a store operation)."""
    state.store_ops += 1
    yield run.env.timeout(run.durable_write())
