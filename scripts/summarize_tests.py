"""Sum up scripts/test: test cases from each stage's JUnit XML, one count per other stage.

Prints each stage's counts, then one closing line `N passed, N failed` (and skipped); exits 1 when
anything failed.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def junit_counts(path: Path) -> tuple[int, int, int]:
    """One outcome per test run. Consecutive entries with the same name are one test (pytest writes
    a teardown error after a failure, and a rerun after a crashed browser tab, that way): it failed
    if any of them failed."""
    runs: list[tuple[tuple[str, str], set[str]]] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            outcome = "failed"
        elif "skipped" in tags:
            outcome = "skipped"
        else:
            outcome = "passed"
        if runs and runs[-1][0] == key:
            runs[-1][1].add(outcome)
        else:
            runs.append((key, {outcome}))
    failed = sum(1 for _, seen in runs if "failed" in seen)
    skipped = sum(1 for _, seen in runs if seen == {"skipped"})
    return len(runs) - failed - skipped, failed, skipped


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
    escapes = out / "security" / "escapes.json"
    if escapes.is_file():
        cases = json.loads(escapes.read_text())
        controls = sum(1 for case in cases if case["control"] == "escaped")
        boots = ("fresh", "restored")  # how the worker started (escape.spec.js)
        escaped = sum(1 for case in cases if any(case.get(boot) == "escaped" for boot in boots))
        print(
            f"  security: {len(cases)} escape cases, {controls} controls escaped as they should, "
            f"{escaped} escapes from the locked-down worker (started afresh, and restored "
            "from a memory snapshot)"
        )
    resources = out / "security" / "resources.json"
    if resources.is_file():
        cases = json.loads(resources.read_text())
        twins = sum(1 for case in cases if case["twin"] == "ok")
        contained = sum(1 for case in cases if case["attempt"] == "contained")
        print(
            f"  security: {len(cases)} resource cases, {twins} twins under the limit succeeded, "
            f"{contained} attempts contained"
        )
    static = out / "security" / "static-host.json"
    if static.is_file():
        cases = json.loads(static.read_text())
        escaped = sum(1 for case in cases if case["framed"] == "escaped")
        print(
            f"  security: {len(cases)} escape cases on a static host (docs embed), "
            f"{escaped} escapes from its workers"
        )
    # integrity*.json (one per spec: state, messages, permissions) make one line.
    integrity = sorted((out / "security").glob("integrity*.json"))
    if integrity:
        cases = [case for path in integrity for case in json.loads(path.read_text())]
        controls = sum(1 for case in cases if case["control"] == "worked")
        past = sum(1 for case in cases if case["checked"] == "worked")
        print(
            f"  security: {len(cases)} integrity cases, {controls} controls worked as they should, "
            f"{past} got past the host's checks"
        )
    summary = f"{total[0]} passed, {total[1]} failed"
    print(summary + (f", {total[2]} skipped" if total[2] else ""))
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
