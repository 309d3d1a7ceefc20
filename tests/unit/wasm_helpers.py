"""Paths and loaders shared by the test_wasm_* modules."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL_PACKAGES = ROOT / "tool_packages" / "wasm"
FIXTURES = ROOT / "tests" / "wasm_fixtures"


def package_dirs() -> list[Path]:
    """Every WASM package folder: the first-party tools and the test fixtures."""
    dirs = [p.parent for p in TOOL_PACKAGES.glob("*/manifest.json")]
    dirs += [p.parent for p in FIXTURES.glob("*/manifest.json")]
    return sorted(dirs)


def primes_up_to(n: int) -> list[int]:
    """The primes up to n, by a plain sieve: what primes.count is checked against."""
    sieve = bytearray([1]) * (n + 1)
    sieve[:2] = b"\0\0"
    for i in range(2, int(n**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, n + 1, i)))
    return [i for i, flag in enumerate(sieve) if flag]
