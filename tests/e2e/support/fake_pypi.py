"""The fake PyPI of python-package-sources.spec.js: tests/unit/fake_pypi.py's FakePyPI, serving
its demo wheels (built into FOLDER) on 127.0.0.1:PORT until the process is ended.

    python tests/e2e/support/fake_pypi.py PORT FOLDER
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit"))

from fake_pypi import FakePyPI

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} PORT FOLDER")
    print(FakePyPI(Path(sys.argv[2])).start(int(sys.argv[1])), flush=True)
    threading.Event().wait()
