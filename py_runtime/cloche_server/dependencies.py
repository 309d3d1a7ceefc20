"""The dependencies of the dist's own wheels, resolved at build time for Pyodide.

Each wheel's Requires-Dist (markers evaluated for Pyodide: emscripten, wasm32, its Python) is
resolved, transitively, against, in this order: the dist's own wheels (cloche, micropip, the tool
packages), Pyodide's lock (numpy, pandas, ...; files from PyodidePackages, sha256-checked), and PyPI
for pure-Python wheels. A name in both Pyodide's lock and PyPI comes from the lock. There is no
backtracking: the first version chosen for a name must satisfy everything that asks for it.
"""

from __future__ import annotations

import email.parser
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ._files import sha256_file
from .pure_wheels import cached_wheel, download_wheel
from .pyodide_packages import PackageSourceError, PyodidePackages

# Who asked for the packages of `[tool.cloche.dist] python-run-packages`, in messages.
PYTHON_RUN_SETTING = "[tool.cloche.dist] python-run-packages"
# The entry point name (tool namespace) of the package whose worker gets python-run-packages.
PYTHON_RUN_NAMESPACE = "python"
LOCK_REMEDY = (
    "loosen the requirement, or give the build a lock with a matching version "
    "(--pyodide-lock FILE with --pyodide-packages DIR|URL)"
)


class DependencyError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class WheelMetadata:
    name: str  # canonical
    version: str
    requires: tuple[Requirement, ...]
    namespaces: tuple[str, ...]  # its `cloche.tools` entry point names


def read_metadata(wheel: Path) -> WheelMetadata:
    """Name, version, Requires-Dist and tool namespaces from a wheel's .dist-info."""
    with zipfile.ZipFile(wheel) as archive:
        infos = [n for n in archive.namelist() if n.count("/") == 1 and ".dist-info/" in n]
        metadata = next((n for n in infos if n.endswith(".dist-info/METADATA")), None)
        if metadata is None:
            raise DependencyError(f"{wheel.name} has no .dist-info/METADATA")
        headers = email.parser.HeaderParser().parsestr(archive.read(metadata).decode())
        points = next((n for n in infos if n.endswith(".dist-info/entry_points.txt")), None)
        namespaces = _tool_namespaces(archive.read(points).decode()) if points else ()
    try:
        requires = tuple(Requirement(r) for r in headers.get_all("Requires-Dist") or [])
    except InvalidRequirement as error:
        raise DependencyError(f"{wheel.name}: {error}") from None
    name = str(canonicalize_name(str(headers["Name"])))
    return WheelMetadata(name, str(headers["Version"]), requires, namespaces)


def _tool_namespaces(text: str) -> tuple[str, ...]:
    import configparser

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return tuple(parser["cloche.tools"]) if parser.has_section("cloche.tools") else ()


def marker_environment(info: dict[str, Any]) -> dict[str, str]:
    """What `packaging.markers.default_environment()` says inside this Pyodide (from its lock's
    info): pyodide-lock's own guess, with the Emscripten release written as a version."""
    python = str(info["python"])
    system, _, release = str(info["platform"]).partition("_")
    major, minor = python.split(".")[:2]
    return {
        "implementation_name": "cpython",
        "implementation_version": python,
        "os_name": "posix",
        "platform_machine": str(info.get("arch", "wasm32")),
        "platform_release": release.replace("_", "."),
        "platform_system": "Emscripten",
        "platform_version": "#1",
        "python_full_version": python,
        "platform_python_implementation": "CPython",
        "python_version": f"{major}.{minor}",
        "sys_platform": system,
        "extra": "",
    }


@dataclass
class Dependency:
    """One package the dist adds for its own wheels' sake."""

    name: str
    version: str
    wheel: Path  # a local, sha256-checked file
    origin: Literal["pyodide", "pypi"]
    source: str  # the URL, folder or cache it came from
    wanted_by: str
    lock_entry: dict[str, Any] | None = None  # Pyodide's entry, for origin "pyodide"
    sha256: str = ""

    def record(self) -> dict[str, str]:
        """Its line in build-info.json: what was added, from where, and why."""
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "from": self.origin,
            "file": self.wheel.name,
            "wantedBy": self.wanted_by,
        }


@dataclass
class Resolution:
    dependencies: list[Dependency] = field(default_factory=list)
    # Lock names whose entries need more `depends` than their wheel says: extras asked of Pyodide's
    # packages, and python-run-packages for python.run's package.
    extra_depends: dict[str, list[str]] = field(default_factory=dict)
    downloaded: list[str] = field(default_factory=list)

    @property
    def pyodide_entries(self) -> list[dict[str, Any]]:
        return [d.lock_entry for d in self.dependencies if d.lock_entry is not None]

    @property
    def files(self) -> list[Path]:
        return [d.wheel for d in self.dependencies]

    @property
    def pure_wheels(self) -> list[Path]:
        """The ones CPython can import too (the build's registry step imports the tools)."""
        return [d.wheel for d in self.dependencies if d.wheel.name.endswith("-none-any.whl")]

    @property
    def pypi_wheels(self) -> list[Path]:
        return [d.wheel for d in self.dependencies if d.origin == "pypi"]

    def without(self, names: set[str]) -> Resolution:
        """The same, less the packages in `names` (which another wheel set provides)."""
        kept = [d for d in self.dependencies if d.name not in names]
        return Resolution(kept, self.extra_depends, self.downloaded)


@dataclass(frozen=True)
class _Wanted:
    requirement: Requirement
    chain: tuple[str, ...]  # who asked: the root first, then each package in between

    def who(self) -> str:
        root, *through = self.chain
        return root + (f" (through {', '.join(through)})" if through else "")


class _Resolver:
    def __init__(
        self, pyodide: PyodidePackages, wheel_cache: Path, offline: bool, own: list[Path]
    ) -> None:
        self.pyodide = pyodide
        self.wheel_cache = wheel_cache
        self.offline = offline
        self.env = marker_environment(pyodide.info)
        self.python_version = self.env["python_version"]
        self.own = {m.name: (m, w) for w in own for m in [read_metadata(w)]}
        self.chosen: dict[str, tuple[str, Path, str]] = {}  # version, file, for whom
        self.extras_done: dict[str, set[str]] = {}
        self.result = Resolution()
        self.queue: deque[_Wanted] = deque()

    def applies(self, marker: Marker | None, extra: str = "") -> bool:
        return marker is None or marker.evaluate({**self.env, "extra": extra})

    def want(self, requirements: tuple[Requirement, ...], chain: tuple[str, ...]) -> None:
        self.queue.extend(_Wanted(r, chain) for r in requirements if self.applies(r.marker))

    def run(self) -> Resolution:
        while self.queue:
            self.resolve(self.queue.popleft())
        return self.result

    def resolve(self, wanted: _Wanted) -> None:
        requirement = wanted.requirement
        name = str(canonicalize_name(requirement.name))
        if requirement.url:
            raise DependencyError(
                f"{requirement}, wanted by {wanted.who()}: a direct URL requirement cannot be "
                "resolved for Pyodide; name a version instead"
            )
        if name in self.own:
            metadata, wheel = self.own[name]
            have = f"the dist's own {name} is {metadata.version}"
            self.check_version(wanted, metadata.version, have, "loosen the requirement")
            self.extras(wanted, name, wheel, record=False)
        elif name in self.chosen:
            version, wheel, chosen_for = self.chosen[name]
            have = f"{name} {version} was chosen for {chosen_for}"
            self.check_version(wanted, version, have, "make the two requirements agree")
            self.extras(wanted, name, wheel, record=self.pyodide.entry(name) is not None)
        elif (entry := self.pyodide.entry(name)) is not None:
            self.from_pyodide(wanted, name, entry)
        else:
            self.from_pypi(wanted, name)

    def check_version(self, wanted: _Wanted, version: str, have: str, remedy: str) -> None:
        if not wanted.requirement.specifier.contains(version, prereleases=True):
            raise DependencyError(
                f"{wanted.who()} wants {wanted.requirement}, but {have}; {remedy}"
            )

    def from_pyodide(self, wanted: _Wanted, name: str, entry: dict[str, Any]) -> None:
        version = str(entry["version"])
        have = f"{name} in {self.pyodide.lock_path} is {version}"
        self.check_version(wanted, version, have, LOCK_REMEDY)
        try:
            path = self.pyodide.fetch(entry, wanted.who())
        except PackageSourceError as error:
            raise DependencyError(str(error)) from None
        self.chosen[name] = (version, path, wanted.who())
        self.result.dependencies.append(
            Dependency(
                name,
                str(entry["version"]),
                path,
                "pyodide",
                self.pyodide.url_of(entry),
                wanted.who(),
                {**entry, "file_name": path.name},
                str(entry["sha256"]),
            )
        )
        chain = (*wanted.chain, name)
        self.queue.extend(_Wanted(Requirement(d), chain) for d in entry.get("depends", []))
        self.extras(wanted, name, path, record=True)

    def from_pypi(self, wanted: _Wanted, name: str) -> None:
        requirement = wanted.requirement
        wheel = cached_wheel(requirement, self.wheel_cache, self.python_version)
        downloaded = wheel is None
        if wheel is None:
            if self.offline:
                raise self.unresolvable(
                    wanted,
                    f"not in the wheel cache {self.wheel_cache}, and downloads are off (--offline)",
                )
            found = download_wheel(requirement, self.wheel_cache, self.python_version)
            if isinstance(found, str):
                raise self.unresolvable(
                    wanted,
                    f"PyPI has no pure-Python wheel of it for Python {self.python_version} "
                    f"(pip: {found})",
                )
            wheel = found
        metadata = read_metadata(wheel)
        if downloaded:
            self.result.downloaded.append(f"{metadata.name}=={metadata.version}")
        have = f"{wheel.name} in {self.wheel_cache} is {metadata.version}"
        self.check_version(wanted, metadata.version, have, "remove it from the cache")
        self.chosen[name] = (metadata.version, wheel, wanted.who())
        self.result.dependencies.append(
            Dependency(
                name,
                metadata.version,
                wheel,
                "pypi",
                str(self.wheel_cache),
                wanted.who(),
                sha256=sha256_file(wheel),
            )
        )
        self.want(metadata.requires, (*wanted.chain, name))
        self.extras(wanted, name, wheel, record=False)

    def unresolvable(self, wanted: _Wanted, why: str) -> DependencyError:
        return DependencyError(
            f"{wanted.requirement}, wanted by {wanted.who()}, is not in Pyodide's lock "
            f"({self.pyodide.lock_path}), and {why}; give the build a mirror that has it: "
            "--pyodide-packages DIR|URL with --pyodide-lock FILE"
        )

    def extras(self, wanted: _Wanted, name: str, wheel: Path, *, record: bool) -> None:
        """Queue what `name[extra]` adds; for a Pyodide package also add it to its lock entry's
        depends (a lock has no extras; pyodide-lock does this for the wheels it adds itself)."""
        new = set(wanted.requirement.extras) - self.extras_done.setdefault(name, set())
        if not new or not wheel.name.endswith(".whl"):
            return
        self.extras_done[name] |= new
        chain = (*wanted.chain, name)
        for requirement in read_metadata(wheel).requires:
            if self.applies(requirement.marker):
                continue
            if any(self.applies(requirement.marker, extra) for extra in sorted(new)):
                self.queue.append(_Wanted(requirement, chain))
                if record:
                    depends = self.result.extra_depends.setdefault(name, [])
                    depends.append(str(canonicalize_name(requirement.name)))


def resolve(
    pyodide: PyodidePackages,
    own_wheels: list[Path],
    wheel_cache: Path,
    *,
    offline: bool = False,
    python_run_packages: list[str] | tuple[str, ...] = (),
) -> Resolution:
    """Every package the dist must add so that each of `own_wheels` finds its dependencies, plus
    `python_run_packages` (made dependencies of the package that provides python.run)."""
    resolver = _Resolver(pyodide, wheel_cache, offline, own_wheels)
    for metadata, _ in resolver.own.values():
        resolver.want(metadata.requires, (metadata.name,))
    if python_run_packages:
        owners = [m.name for m, _ in resolver.own.values() if PYTHON_RUN_NAMESPACE in m.namespaces]
        if not owners:
            raise DependencyError(
                f"{PYTHON_RUN_SETTING} is set, but no tool package provides python.run "
                f"(a `{PYTHON_RUN_NAMESPACE}` entry point in cloche.tools)"
            )
        try:
            requirements = tuple(Requirement(r) for r in python_run_packages)
        except InvalidRequirement as error:
            raise DependencyError(f"{PYTHON_RUN_SETTING}: {error}") from None
        resolver.want(requirements, (PYTHON_RUN_SETTING,))
        names = [str(canonicalize_name(r.name)) for r in requirements]
        resolver.result.extra_depends.setdefault(owners[0], []).extend(names)
    return resolver.run()
