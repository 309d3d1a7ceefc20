"""Pure-Python wheels (py3-none-any) from PyPI, fetched by pip into the build's wheel cache.

A wheel in the cache is used again as long as it satisfies the requirement, so a build does not
move to a newer release by itself and works offline once the cache holds what it needs; pin with
`==` for the same wheel on every machine. pip checks each download against the index's hash.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version


def pip_download(
    requirement: str, dest: Path, python_version: str
) -> subprocess.CompletedProcess[str]:
    """`pip download` of one pure wheel for Pyodide's Python, without its dependencies."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--disable-pip-version-check", "--only-binary=:all:"]
    command += ["--python-version", python_version, "--implementation", "py"]
    command += ["--abi", "none", "--platform", "any", "--dest", str(dest), requirement]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def pip_error(stderr: str) -> str:
    """pip's own reason, on one line: its last `ERROR:` line, else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no reason given"])[-1]


def is_pure(tags: frozenset[Tag], python_version: str) -> bool:
    """Whether a wheel's tags let it run on any platform under this Python (major.minor)."""
    major, minor = (int(part) for part in python_version.split(".")[:2])
    for tag in tags:
        if tag.abi != "none" or tag.platform != "any" or not tag.interpreter.startswith("py"):
            continue
        digits = tag.interpreter[2:]
        if digits == str(major) or (
            digits.startswith(str(major)) and digits[1:].isdigit() and int(digits[1:]) <= minor
        ):
            return True
    return False


def cached_wheel(requirement: Requirement, cache: Path, python_version: str) -> Path | None:
    """The newest pure wheel in `cache` that satisfies `requirement`, if any."""
    wanted = canonicalize_name(requirement.name)
    best: tuple[Version, Path] | None = None
    for path in cache.glob("*.whl") if cache.is_dir() else []:
        try:
            name, version, _, tags = parse_wheel_filename(path.name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if name != wanted or not is_pure(tags, python_version):
            continue
        if requirement.specifier.contains(version, prereleases=True) and (
            best is None or version > best[0]
        ):
            best = (version, path)
    return best[1] if best else None


def download_wheel(requirement: Requirement, cache: Path, python_version: str) -> Path | str:
    """Download the best pure wheel for `requirement` into `cache`: its path, or pip's reason."""
    cache.mkdir(parents=True, exist_ok=True)
    result = pip_download(f"{requirement.name}{requirement.specifier}", cache, python_version)
    found = cached_wheel(requirement, cache, python_version)
    if result.returncode != 0 or found is None:
        return pip_error(result.stderr) if result.returncode != 0 else "pip found no pure wheel"
    return found
