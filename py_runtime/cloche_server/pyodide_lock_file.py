"""The dist's pyodide-lock.json: only packages whose wheels the dist holds, each with its sha256."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._files import sha256_file


class LockError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def write_lock(
    npm_lock: Path,
    wheels: list[Path],
    dist: Path,
    pyodide_entries: Sequence[dict[str, Any]] = (),
    extra_depends: Mapping[str, Sequence[str]] | None = None,
) -> bytes:
    """Return the lock for a dist holding exactly `wheels` and `pyodide_entries`' files (already
    copied into `dist`).

    The npm package's lock lists some 350 packages whose files we do not serve; they are dropped,
    then the entries of Pyodide's packages the dist does serve are put back as they are (their
    file names made local), and our wheels are added the way `pyodide lockfile add-wheels` does it
    (same library call), so dependencies are resolved and a wheel whose dependency is missing fails
    the build. `extra_depends` adds names to entries' depends: what loading them must also load.
    """
    from cattrs.errors import CattrsError
    from packaging.utils import canonicalize_name
    from pyodide_lock import PackageSpec, PyodideLockSpec
    from pyodide_lock.utils import add_wheels_to_spec

    spec = PyodideLockSpec.from_json(npm_lock)
    spec.packages.clear()
    for entry in pyodide_entries:
        try:
            package = PackageSpec.from_dict({**entry, "file_name": Path(entry["file_name"]).name})
        except (CattrsError, KeyError, TypeError, ValueError) as error:
            raise LockError(f"the Pyodide lock's entry for {entry.get('name')}: {error}") from None
        spec.packages[canonicalize_name(package.name)] = package
    try:
        spec = add_wheels_to_spec(spec, [dist / w.name for w in wheels], base_path=dist)
    except RuntimeError as error:
        raise LockError(str(error)) from None
    for name, depends in (extra_depends or {}).items():
        if name not in spec.packages:
            raise LockError(f"cannot add {', '.join(depends)} to {name}: the lock has no {name}")
        package = spec.packages[name]
        package.depends = [*package.depends, *(d for d in depends if d not in package.depends)]
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
