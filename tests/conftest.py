import sys
from pathlib import Path

# The repository root is the pack; its core library imports as `lantern` in tests.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
