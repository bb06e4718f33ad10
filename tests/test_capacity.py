"""simlib.capacity: which ceilings bind a design."""
from simlib import capacity, presets


def test_load_counts_only_the_designs_own_ceilings():
    """An async design holds no thread while it waits: offered past the sync threads' ceiling
    but under its in-flight cap, it is stable; the same rate on the sync design is not."""
    sync = presets.threaded_agent_turn(**{"workers.slots": 2})
    asynchronous = sync.with_(architecture=presets.ASYNC)
    caps = capacity.ceilings(sync)
    rate = 1.5 * caps["sync: worker slots"]
    assert rate < 0.9 * min(capacity.own_ceilings(asynchronous).values())
    sync, asynchronous = (s.with_(**{"workload.arrival_rate": rate}) for s in (sync, asynchronous))
    assert not capacity.stable(sync) and capacity.stable(asynchronous)
    assert "sync: worker slots" not in capacity.own_ceilings(asynchronous)
    assert "async: in-flight cap" not in capacity.own_ceilings(sync)
