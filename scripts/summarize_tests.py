"""Sum up scripts/test: test cases from each stage's JUnit XML, one count per other stage.

Prints each stage's counts, then one closing line `N passed, N failed` (and skipped); exits 1 when
anything failed.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def junit_counts(path: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main(out: Path) -> int:
    total = [0, 0, 0]
    for line in (out / "stages").read_text().splitlines():
        name, outcome = line.split()
        junit = out / "junit" / f"{name}.xml"
        passed, failed, skipped = junit_counts(junit) if junit.is_file() else (0, 0, 0)
        if passed + failed + skipped == 0:
            passed, failed = (1, 0) if outcome == "passed" else (0, 1)
        elif outcome == "failed" and failed == 0:
            failed = 1  # the runner failed outside any test case (collection, crash, exit code)
        total = [total[0] + passed, total[1] + failed, total[2] + skipped]
        print(f"  {name:<16} {outcome:<7} {passed} passed, {failed} failed, {skipped} skipped")
    summary = f"{total[0]} passed, {total[1]} failed"
    print(summary + (f", {total[2]} skipped" if total[2] else ""))
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
