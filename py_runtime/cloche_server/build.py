"""`cloche build`: assemble dist/ (the static site) and the test dist, incrementally.

dist/ holds the web app, the Pyodide core (under a versioned path, so it may be cached forever),
the vendored browser libraries (vendored_npm.py), the pinned micropip wheel, the `cloche` wheel,
the tool wheels with their dependencies (dependencies.py: Pyodide's own packages and PyPI's pure
wheels) and a pyodide-lock.json that lists exactly those files. The test dist is a flat Pyodide
dist (the layout pytest-pyodide expects) with the same wheels plus the ones pytest-pyodide loads
inside Pyodide; it is never part of dist/. Both are assembled beside their folder and swapped in
at the end (staged_folder.py): a build that fails leaves them as they were.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._files import (
    COMPRESSED_SUFFIXES,
    COMPRESSIBLE,
    copy_if_changed,
    precompress,
    remove_unlisted,
    write_if_changed,
)
from .dependencies import DependencyError, Resolution, read_metadata, resolve
from .page_preloads import with_preloads
from .pure_wheels import pip_download
from .pyodide_lock_file import LockError, check_lock, write_lock
from .pyodide_packages import PackageSourceError, PyodidePackages
from .registry import REGISTRY_NAME, RegistryError, registry_json, with_boot_flags
from .staged_folder import StagedFolder, StagingError
from .stdlib_repack import RepackError, stored_zip
from .vendored_npm import VendoredFileMissing, copy_vendored
from .wasm_memory_limit import MemoryLimitError, limit_memory

PYODIDE_CORE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
PYODIDE_WASM = "pyodide.asm.wasm"
PYODIDE_STDLIB = "python_stdlib.zip"
# The Python heap's cap in dist/. Pyodide allows 4 GiB; half of it is far more than a tool call
# should need, keeps a runaway allocation from taking a whole 32-bit address space per worker, and
# stays below 2 GiB, where C code that keeps pointers in signed ints would start to break.
DEFAULT_PYTHON_MEMORY_MIB = 2048
# Files of web/ that are not part of the app.
WEB_EXCLUDED = {"node_modules", "package.json", "package-lock.json", "tsconfig.json"}
LOCK_NAME = "pyodide-lock.json"


class BuildError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"build failed: {self.message}"


@dataclass
class BuildReport:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.written)} files written, {len(self.removed)} removed, "
            f"{len(self.downloaded)} downloaded"
        )


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def web(self) -> Path:
        return self.root / "web"

    @property
    def pyodide_npm(self) -> Path:
        return self.web / "node_modules" / "pyodide"

    @property
    def wheel_cache(self) -> Path:
        return self.root / ".cache" / "wheels"

    @property
    def own_wheels(self) -> Path:
        return self.root / "build" / "wheels"

    @property
    def default_dist(self) -> Path:
        return self.root / "dist"

    @property
    def default_test_dist(self) -> Path:
        return self.root / "build" / "test-dist"

    @property
    def pyodide_cache(self) -> Path:
        return self.root / ".cache" / "pyodide"

    def pins(self, name: str) -> list[str]:
        lines = (self.root / "requirements" / name).read_text().splitlines()
        return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]

    def dist_settings(self) -> dict[str, Any]:
        """`[tool.cloche.dist]` of pyproject.toml."""
        config = tomllib.loads((self.root / "pyproject.toml").read_text())
        settings: dict[str, Any] = config.get("tool", {}).get("cloche", {}).get("dist", {})
        return settings

    def _names(self, key: str) -> list[str]:
        names = self.dist_settings().get(key, [])
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise BuildError(f"pyproject.toml: [tool.cloche.dist] {key} must be a list of names")
        return names

    def on_demand_packages(self) -> list[str]:
        """Packages the dist offers but the page does not load at boot: `[tool.cloche.dist]
        on-demand` in pyproject.toml. The runtime panel installs them when a user asks."""
        return self._names("on-demand")

    def python_run_packages(self) -> list[str]:
        """Requirements python.run's worker loads at boot: `[tool.cloche.dist]
        python-run-packages` (e.g. ["numpy"]), resolved like a tool package's dependencies."""
        return self._names("python-run-packages")

    def _setting(self, key: str) -> str | None:
        value = self.dist_settings().get(key)
        if value is not None and not (isinstance(value, str) and value):
            raise BuildError(f"pyproject.toml: [tool.cloche.dist] {key} must be a path or URL")
        return value

    def pyodide_packages_source(self) -> str | None:
        """`[tool.cloche.dist] pyodide-packages`: a folder (relative to the checkout) or URL that
        holds Pyodide's package files; None means the official release."""
        from .pyodide_packages import is_url

        value = self._setting("pyodide-packages")
        return value if value is None or is_url(value) else str(self.root / value)

    def pyodide_lock_setting(self) -> Path | None:
        """`[tool.cloche.dist] pyodide-lock`: a lock to use instead of npm's for those packages."""
        value = self._setting("pyodide-lock")
        return None if value is None else self.root / value

    def python_memory_bytes(self) -> int:
        """The Python worker's heap cap: `[tool.cloche.dist] python-memory-mib` in pyproject.toml,
        else DEFAULT_PYTHON_MEMORY_MIB. Written into pyodide.asm.wasm as its memory's maximum."""
        config = tomllib.loads((self.root / "pyproject.toml").read_text())
        dist = config.get("tool", {}).get("cloche", {}).get("dist", {})
        mib = dist.get("python-memory-mib", DEFAULT_PYTHON_MEMORY_MIB)
        if not (type(mib) is int and 64 <= mib <= 4096):
            raise BuildError(
                "pyproject.toml: [tool.cloche.dist] python-memory-mib must be a whole number "
                f"of MiB from 64 to 4096, not {mib!r}"
            )
        return mib * 2**20

    def pyodide_version(self) -> str:
        package = self.pyodide_npm / "package.json"
        if not package.is_file():
            raise BuildError(f"{package} is missing: run `npm ci` in web/ (scripts/build does it)")
        return str(json.loads(package.read_text())["version"])


def find_project_root(start: Path | None = None) -> Path:
    """The checkout that holds pyproject.toml and web/: from the cwd upward, else this package's."""
    candidates = [start or Path.cwd(), Path(__file__).resolve().parents[2]]
    for candidate in candidates:
        for folder in [candidate, *candidate.parents]:
            if (folder / "pyproject.toml").is_file() and (folder / "web").is_dir():
                return folder
    raise BuildError("no Cloche checkout found (a folder with pyproject.toml and web/)")


def pinned_wheel(project: Project, pin: str, report: BuildReport, offline: bool) -> Path:
    """The cached pure-Python wheel for `name==version`, downloaded from PyPI once."""
    name, _, version = pin.partition("==")
    if not version:
        raise BuildError(f"requirement {pin!r} must pin an exact version (name==version)")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    pattern = re.compile(rf"{re.escape(stem)}-{re.escape(version)}-.*-none-any\.whl", re.I)
    cache = project.wheel_cache
    found = [p for p in cache.glob("*.whl") if pattern.fullmatch(p.name)] if cache.is_dir() else []
    if found:
        return found[0]
    if offline:
        raise BuildError(f"{pin} is not in {cache} and downloads are off (--offline)")
    cache.mkdir(parents=True, exist_ok=True)
    result = pip_download(pin, cache, "3.14")
    found = [p for p in cache.glob("*.whl") if pattern.fullmatch(p.name)]
    if result.returncode != 0 or not found:
        raise BuildError(f"could not download a pure wheel for {pin}: {result.stderr.strip()}")
    report.downloaded.append(pin)
    return found[0]


def _source_digest(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _wheel(source: Path, out: Path, name: str, digest: str) -> Path:
    """Build the wheel of the project in `source` into `out`, unless `digest` says it is current."""
    stamp = out / f"{name}.sources-sha256"
    pattern = f"{re.sub(r'[-_.]+', '_', name).lower()}-*.whl"
    wheels = sorted(out.glob(pattern))
    if len(wheels) == 1 and stamp.is_file() and stamp.read_text() == digest:
        return wheels[0]
    for old in wheels:
        old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(source)]
    # hatchling writes the same bytes for the same sources when this is set.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    wheels = sorted(out.glob(pattern))
    if result.returncode != 0 or len(wheels) != 1:
        raise BuildError(f"building the {name} wheel failed: {result.stderr.strip()}")
    stamp.write_text(digest)
    return wheels[0]


def runtime_pyproject(project: Project) -> str:
    """The project definition of the wheel Pyodide loads: `cloche` alone, under the root project's
    name and version, with no dependencies, no server and no dist (the root wheel has those)."""
    config = tomllib.loads((project.root / "pyproject.toml").read_text())
    meta, build_system = config["project"], config["build-system"]
    fields = {
        "name": meta["name"],
        "version": meta["version"],
        "description": meta.get("description", ""),
        "requires-python": meta.get("requires-python", ">=3.12"),
        "license": meta.get("license", "MIT"),
    }
    lines = ["[build-system]"]
    lines.append(f"requires = {json.dumps(build_system['requires'])}")
    lines.append(f"build-backend = {json.dumps(build_system['build-backend'])}")
    lines += ["", "[project]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
    lines += ["dependencies = []", "", "[tool.hatch.build.targets.wheel]", 'packages = ["cloche"]']
    return "\n".join(lines) + "\n"


def cloche_wheel(project: Project) -> Path:
    """Build the `cloche` runtime wheel (py_runtime/cloche only, see `runtime_pyproject`) when its
    sources changed since the last build."""
    source = project.root / "py_runtime" / "cloche"
    files = [p for p in sorted(source.rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    pyproject = runtime_pyproject(project)
    digest = hashlib.sha256(
        pyproject.encode() + b"\0" + _source_digest(source, files).encode()
    ).hexdigest()
    out = project.own_wheels / "runtime"
    stamp = out / "cloche.sources-sha256"
    wheels = sorted(out.glob("cloche-*.whl"))
    if len(wheels) == 1 and stamp.is_file() and stamp.read_text() == digest:
        return wheels[0]
    with tempfile.TemporaryDirectory(prefix="cloche-runtime-") as temp:
        tree = Path(temp)
        (tree / "pyproject.toml").write_text(pyproject)
        for path in files:
            target = tree / "cloche" / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        return _wheel(tree, out, "cloche", digest)


def tool_package_dirs(project: Project) -> list[Path]:
    """The first-party Python tool packages: tool_packages/python/<name>/pyproject.toml."""
    return sorted(
        p.parent for p in (project.root / "tool_packages" / "python").glob("*/pyproject.toml")
    )


def tool_wheel(project: Project, package: Path, *, extra: bool = False) -> Path:
    """Build one tool package's wheel when its sources changed since the last build. An extra
    package (from outside tool_packages/python) keeps its wheel under its distribution's name."""
    if not (package / "pyproject.toml").is_file():
        raise BuildError(f"{package} is not a tool package: it has no pyproject.toml")
    digest = _source_digest(package, sorted(package.rglob("*")))
    name = str(tomllib.loads((package / "pyproject.toml").read_text())["project"]["name"])
    out = (
        project.own_wheels
        / ("extra-tools" if extra else "tools")
        / (name if extra else package.name)
    )
    return _wheel(package, out, name, digest)


def _web_files(project: Project) -> list[Path]:
    files = []
    for path in sorted(project.web.rglob("*")):
        parts = path.relative_to(project.web).parts
        if path.is_file() and not (set(parts) & WEB_EXCLUDED) and "__pycache__" not in parts:
            files.append(path)
    return files


def _unlink_stale_twins(path: Path) -> None:
    """Remove the compressed twins that `precompress` is about to rewrite (those older than their
    source): it writes into a file, and the dist is staged as hard links to the current one."""
    source_mtime = path.stat().st_mtime_ns
    for suffix in COMPRESSED_SUFFIXES:
        twin = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            if twin.stat().st_mtime_ns < source_mtime:
                twin.unlink()


class _Output:
    """Collects what one dist folder should hold, writing only what changed."""

    def __init__(self, root: Path, report: BuildReport) -> None:
        self.root = root
        self.report = report
        self.keep: set[Path] = set()
        # Files to precompress although their suffix is not in COMPRESSIBLE.
        self.compress: set[Path] = set()

    def copy(self, src: Path, relative: str) -> Path:
        dst = self.root / relative
        if copy_if_changed(src, dst):
            self.report.written.append(dst)
        self.keep.add(dst)
        return dst

    def write(self, relative: str, data: bytes, *, compress: bool = False) -> Path:
        dst = self.root / relative
        if write_if_changed(dst, data):
            self.report.written.append(dst)
        self.keep.add(dst)
        if compress:
            self.compress.add(dst)
        return dst

    def finish(self, compress: bool) -> None:
        if compress:
            for path in sorted(self.keep):
                if path.suffix in COMPRESSIBLE or path in self.compress:
                    _unlink_stale_twins(path)
                    self.keep.update(precompress(path))
        self.report.removed += remove_unlisted(self.root, self.keep)
        problems = check_lock(self.root)
        if problems:
            raise BuildError("the lock does not match the dist: " + "; ".join(map(str, problems)))


def _lock(project: Project, out: _Output, wheels: list[Path], deps: Resolution) -> None:
    for path in [*wheels, *deps.files]:
        out.copy(path, path.name)
    try:
        lock = write_lock(
            project.pyodide_npm / LOCK_NAME,
            [*wheels, *deps.pypi_wheels],
            out.root,
            deps.pyodide_entries,
            deps.extra_depends,
        )
    except LockError as error:
        raise BuildError(f"{LOCK_NAME}: {error}") from None
    out.write(LOCK_NAME, lock)


def _capped_pyodide(project: Project) -> bytes:
    """pyodide.asm.wasm with its memory's maximum lowered to the heap cap: Pyodide's own memory
    could grow to 4 GiB, and a heap never shrinks until its worker is replaced."""
    source = project.pyodide_npm / PYODIDE_WASM
    try:
        return limit_memory(source.read_bytes(), project.python_memory_bytes())
    except MemoryLimitError as error:
        raise BuildError(f"cannot cap the Python heap in {source}: {error}") from None


@functools.lru_cache(maxsize=1)
def _stored_zip_of(path: Path, mtime_ns: int, size: int) -> bytes:
    try:
        return stored_zip(path.read_bytes())
    except RepackError as error:
        raise BuildError(f"cannot repack {path}: {error}") from None


def _stored_stdlib(project: Project) -> bytes:
    """python_stdlib.zip repacked stored (stdlib_repack.py), so that its brotli twin is 1.61 MB
    instead of 2.49 MB. Repacking takes about 0.05 s; it is done once per build for both dists.
    Its twins are rewritten only when these bytes change (write_if_changed keeps the file, and
    with it the mtime that `precompress` compares): the quality-11 pass takes about 13 s."""
    source = project.pyodide_npm / PYODIDE_STDLIB
    stat = source.stat()
    return _stored_zip_of(source, stat.st_mtime_ns, stat.st_size)


def build_dist(
    project: Project, dist: Path, wheels: list[Path], report: BuildReport, deps: Resolution
) -> None:
    version = project.pyodide_version()
    core = f"pyodide/v{version}/"
    out = _Output(dist, report)
    for path in _web_files(project):
        if path != project.web / "index.html":  # written below, with its preload links
            out.copy(path, str(path.relative_to(project.web)))
    core_sizes = {}
    for name in PYODIDE_CORE_FILES:
        if name == PYODIDE_WASM:
            written = out.write(core + name, _capped_pyodide(project))
        elif name == PYODIDE_STDLIB:
            written = out.write(core + name, _stored_stdlib(project), compress=True)
        else:
            written = out.copy(project.pyodide_npm / name, core + name)
        core_sizes[name] = written.stat().st_size
    _lock(project, out, wheels, deps)
    from .wasm_dist import WasmDistError, copy_wasm, with_wasm_packages

    try:
        copy_vendored(project.root, out)
        wasm_packages = copy_wasm(project.root, out)
        # Pure dependencies go on the import path too, so tools that import them at the top work.
        document = with_wasm_packages(registry_json([*wheels, *deps.pure_wheels]), wasm_packages)
        out.write(REGISTRY_NAME, with_boot_flags(document, project.on_demand_packages()))
        # Once every module the page imports is in the dist (the vendored ones included).
        page = (project.web / "index.html").read_text(encoding="utf-8")
        out.write("index.html", with_preloads(page, dist).encode())
    except (RegistryError, VendoredFileMissing, WasmDistError) as error:
        raise BuildError(str(error)) from None
    from cloche import __version__

    info: dict[str, Any] = {
        "cloche": __version__,
        "pyodide": version,
        "pyodideIndexURL": core,
        "lockFileURL": LOCK_NAME,
        "coreFiles": core_sizes,
    }
    if deps.dependencies:
        info["dependencies"] = [d.record() for d in deps.dependencies]
    out.write("build-info.json", (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    out.finish(compress=True)


def build_test_dist(
    project: Project, test_dist: Path, wheels: list[Path], report: BuildReport, deps: Resolution
) -> None:
    out = _Output(test_dist, report)
    for name in PYODIDE_CORE_FILES:
        if name == PYODIDE_STDLIB:  # the stdlib the dist serves, so Pyodide's tests boot with it
            out.write(name, _stored_stdlib(project))
        else:
            out.copy(project.pyodide_npm / name, name)
    _lock(project, out, wheels, deps)
    out.finish(compress=False)


def resolve_dependencies(
    project: Project,
    wheels: list[Path],
    *,
    offline: bool,
    pyodide_packages: str | None = None,
    pyodide_lock: Path | None = None,
) -> Resolution:
    """What the dist must add for `wheels`' dependencies and `python-run-packages`: command-line
    choices first, then `[tool.cloche.dist]`, then the official Pyodide release."""
    version = project.pyodide_version()
    try:
        pyodide = PyodidePackages.open(
            version,
            project.pyodide_npm / LOCK_NAME,
            project.pyodide_cache / f"v{version}",
            source=pyodide_packages or project.pyodide_packages_source(),
            lock=pyodide_lock or project.pyodide_lock_setting(),
            offline=offline,
        )
        return resolve(
            pyodide,
            wheels,
            project.wheel_cache,
            offline=offline,
            python_run_packages=project.python_run_packages(),
        )
    except (PackageSourceError, DependencyError) as error:
        raise BuildError(str(error)) from None


def build(
    root: Path | None = None,
    dist: Path | None = None,
    test_dist: Path | None = None,
    *,
    with_test_dist: bool = True,
    offline: bool = False,
    pyodide_packages: str | None = None,
    pyodide_lock: Path | None = None,
    extra_tool_packages: list[Path] | tuple[Path, ...] = (),
) -> BuildReport:
    """Build dist/ (and the test dist) incrementally. Everything that can fail without touching
    them (wheels, dependencies, downloads) comes first; then each is assembled beside its folder
    and both are swapped in together. `extra_tool_packages` are tool package folders built into
    the dists besides tool_packages/python/* (fixtures, a package under development)."""
    project = Project(root or find_project_root())
    report = BuildReport()
    runtime = [pinned_wheel(project, pin, report, offline) for pin in project.pins("pyodide.txt")]
    tools = [tool_wheel(project, package) for package in tool_package_dirs(project)]
    tools += [tool_wheel(project, package, extra=True) for package in extra_tool_packages]
    wheels = [*runtime, cloche_wheel(project), *tools]
    deps = resolve_dependencies(
        project,
        wheels,
        offline=offline,
        pyodide_packages=pyodide_packages,
        pyodide_lock=pyodide_lock,
    )
    report.downloaded += deps.downloaded
    test_wheels = []
    if with_test_dist:
        pins = project.pins("pyodide-test.txt")
        test_wheels = [pinned_wheel(project, pin, report, offline) for pin in pins]
    stages = [StagedFolder(dist or project.default_dist)]
    if with_test_dist:
        stages.append(StagedFolder(test_dist or project.default_test_dist))
    try:
        build_dist(project, stages[0].open(), wheels, report, deps)
        if with_test_dist:
            # A name that pytest-pyodide's pinned wheels provide comes from them in the test dist.
            provided = {read_metadata(w).name for w in test_wheels}
            test_deps = deps.without(provided)
            build_test_dist(project, stages[1].open(), wheels + test_wheels, report, test_deps)
        for stage in stages:
            stage.commit()
    except StagingError as error:
        raise BuildError(str(error)) from None
    finally:
        for stage in stages:
            stage.discard()
    for stage in stages:
        report.written = [stage.final(p) for p in report.written]
        report.removed = [stage.final(p) for p in report.removed]
    return report
