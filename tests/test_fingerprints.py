"""The engine computes what it computed: every fingerprinted scenario's turns and timeline
tables hash to the values recorded in ``tests/fingerprints.json`` (see tools/fingerprints.py,
which rewrites the file when a change is meant to move the numbers)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import fingerprints  # noqa: E402

KNOWN = json.loads(fingerprints.FILE.read_text())
SCENARIOS = fingerprints.scenarios()


def test_the_recorded_set_is_the_set_run():
    assert sorted(KNOWN) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_tables_are_unchanged(name):
    assert fingerprints.fingerprint(SCENARIOS[name]) == KNOWN[name]
