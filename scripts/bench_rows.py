"""One row of the benchmark table, shared by every bench_*.py that scripts/bench runs.

A bench module exposes `measure(...) -> list[Row]`; scripts/bench_all.py collects the rows of all
of them into one table, printed and written to BENCHMARKS.md. A target is printed beside its
figure and judged there ("met" / "missed"), never asserted: a loaded machine must not fail a build.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    section: str  # the table's group, e.g. "Start-up", "Warm calls", "Compute"
    measure: str  # what was measured, in words a reader understands without the code
    value: str  # the median (or the figure), with its unit: "812 ms", "0.84x", "4.61 MB"
    p99: str = ""  # for latencies: the 99th percentile, with its unit
    note: str = ""  # how many runs, what it is compared with
    target: str = ""  # e.g. "<= 1000 ms"; empty when the row has none
    met: bool | None = None  # whether the target was met in this run; None without a target


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def verdict(row: Row) -> str:
    if not row.target:
        return ""
    return f"{row.target}: {'met' if row.met else 'missed'}"


def format_table(rows: list[Row], title: str = "") -> str:
    """The rows as one plain-text table, grouped by section in the order sections first appear:
    measure, median, p99, target and verdict, note."""
    header = ("measure", "median", "p99", "target and verdict", "note")
    width = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate((row.measure, row.value, row.p99, verdict(row))):
            width[i] = max(width[i], len(cell))

    def line(cells: tuple[str, ...]) -> str:
        return (
            f"{cells[0]:<{width[0]}}  {cells[1]:>{width[1]}}  {cells[2]:>{width[2]}}"
            f"  {cells[3]:<{width[3]}}  {cells[4]}".rstrip()
        )

    out = [title] if title else []
    out.append(line(header))
    for section in dict.fromkeys(row.section for row in rows):
        out.append(f"-- {section} " + "-" * max(0, sum(width) + 8 - len(section) - 4))
        for row in rows:
            if row.section == section:
                out.append(line((row.measure, row.value, row.p99, verdict(row), row.note)))
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    """The rows as one Markdown table, a bold line opening each section."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    out = [
        "| measure | median | p99 | target and verdict | note |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for section in dict.fromkeys(row.section for row in rows):
        out.append(f"| **{cell(section)}** | | | | |")
        for row in rows:
            if row.section == section:
                cells = (row.measure, row.value, row.p99, verdict(row), row.note)
                out.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(out)
