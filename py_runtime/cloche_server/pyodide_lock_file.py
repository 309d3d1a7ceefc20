"""The dist's pyodide-lock.json: only packages whose wheels the dist holds, each with its sha256."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ._files import sha256_file


def write_lock(npm_lock: Path, wheels: list[Path], dist: Path) -> bytes:
    """Return the lock for a dist holding exactly `wheels` (already copied into `dist`).

    The npm package's lock lists some 350 packages whose files we do not serve; they are dropped,
    then our wheels are added the way `pyodide lockfile add-wheels` does it (same library call), so
    dependencies are resolved and a wheel whose dependency is missing fails the build.
    """
    from pyodide_lock import PyodideLockSpec
    from pyodide_lock.utils import add_wheels_to_spec

    spec = PyodideLockSpec.from_json(npm_lock)
    spec.packages.clear()
    spec = add_wheels_to_spec(spec, [dist / w.name for w in wheels], base_path=dist)
    data = spec.to_dict()
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class LockProblem:
    package: str
    file_name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.package}: {self.file_name}: {self.detail}"


def check_lock(dist: Path, lock_name: str = "pyodide-lock.json") -> list[LockProblem]:
    """Every lock entry must name a file inside dist whose sha256 matches."""
    lock = json.loads((dist / lock_name).read_text())
    problems = []
    root = dist.resolve()
    for name, entry in sorted(lock["packages"].items()):
        file_name = entry["file_name"]
        path = (dist / file_name).resolve()
        if not path.is_relative_to(root):
            problems.append(LockProblem(name, file_name, "points outside the dist"))
        elif not path.is_file():
            problems.append(LockProblem(name, file_name, "file is missing from the dist"))
        elif (actual := sha256_file(path)) != entry["sha256"]:
            problems.append(
                LockProblem(name, file_name, f"sha256 is {actual}, lock says {entry['sha256']}")
            )
    return problems
