import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# tests/browser start real servers and Chromium: `make test-browser` runs them (it sets CHROMIUM),
# a plain `pytest` or `make test` does not collect them.
collect_ignore = [] if os.environ.get("CHROMIUM") else ["browser"]
