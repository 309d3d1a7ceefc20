"""Where Pyodide's own packages (numpy, pandas, ...) come from when a tool package needs one.

npm's `pyodide` ships the core and a lock that names some 350 packages, but none of their files:
those live in the official Pyodide release (PYODIDE_RELEASE_URL for the pinned version), or in a
folder or mirror the build is pointed at (`--pyodide-packages DIR|URL`), optionally with a lock of
its own (`--pyodide-lock FILE`). Every file is checked against the lock's sha256 before it is used.
"""

from __future__ import annotations

import http.client
import json
import shutil
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._files import sha256_file

PYODIDE_RELEASE_URL = "https://cdn.jsdelivr.net/pyodide/v{version}/full/"
FETCH_TIMEOUT_SECONDS = 60
# Said in every message about a source the build could not use.
POINT_ELSEWHERE = (
    "to build offline or from a mirror, pass --pyodide-packages DIR|URL (a folder or URL holding "
    "Pyodide {version}'s packages; with --pyodide-lock FILE if its lock differs from npm's)"
)


class PackageSourceError(Exception):
    """One line, naming the file, the source tried and what to do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in {"http", "https", "file"}


@dataclass(frozen=True)
class PyodidePackages:
    """Pyodide's lock (npm's, or a substitute) and where the files it names are fetched from."""

    version: str
    lock_path: Path
    lock: dict[str, Any]
    source: str  # a folder, or a URL ending in "/"
    cache: Path  # where files fetched from a URL are kept, each re-checked on use
    offline: bool = False

    @classmethod
    def open(
        cls,
        version: str,
        npm_lock: Path,
        cache: Path,
        *,
        source: str | None = None,
        lock: Path | None = None,
        offline: bool = False,
    ) -> PyodidePackages:
        source = source or PYODIDE_RELEASE_URL.format(version=version)
        if is_url(source):
            source = source if source.endswith("/") else source + "/"
        elif not Path(source).is_dir():
            raise PackageSourceError(f"--pyodide-packages {source}: there is no such folder")
        lock_path = lock or npm_lock
        try:
            document = json.loads(lock_path.read_text())
            packages = document["packages"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise PackageSourceError(f"cannot read the Pyodide lock {lock_path}: {error}") from None
        if lock is not None:
            _check_same_platform(lock, document, npm_lock)
            _check_entries(lock, packages)
        by_name = {_canonical(name): entry for name, entry in packages.items()}
        return cls(version, lock_path, {**document, "packages": by_name}, source, cache, offline)

    @property
    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = self.lock["info"]
        return info

    def entry(self, name: str) -> dict[str, Any] | None:
        """The lock's entry for a (canonical) package name, if it has one."""
        found: dict[str, Any] | None = self.lock["packages"].get(name)
        return found

    def url_of(self, entry: dict[str, Any]) -> str:
        """Where the entry's file is: its own URL if the lock gives one, else below the source."""
        file_name = str(entry["file_name"])
        if is_url(file_name):
            return file_name
        if is_url(self.source):
            return urllib.parse.urljoin(self.source, file_name)
        return str(Path(self.source) / file_name)

    def fetch(self, entry: dict[str, Any], wanted_by: str) -> Path:
        """The entry's file, checked against the lock's sha256: from the source folder as it is,
        from a URL through the cache (a cached file is used again only if its sha256 matches)."""
        where = self.url_of(entry)
        if not is_url(where):
            path = Path(where)
            if not path.is_file():
                raise self._error(entry, wanted_by, f"is not in {self.source}")
            return self._checked(entry, path, self.source, wanted_by)
        name = Path(urllib.parse.urlsplit(where).path).name
        cached = self.cache / name
        if cached.is_file() and sha256_file(cached) == entry["sha256"]:
            return cached
        if self.offline:
            raise self._error(
                entry,
                wanted_by,
                f"is not in the cache {self.cache} and downloads are off (--offline)",
            )
        self.cache.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(name + ".part")
        try:
            with (
                urllib.request.urlopen(where, timeout=FETCH_TIMEOUT_SECONDS) as response,
                partial.open("wb") as out,
            ):
                shutil.copyfileobj(response, out)
        except (OSError, ValueError, http.client.HTTPException) as error:
            partial.unlink(missing_ok=True)
            reason = getattr(error, "reason", None) or error
            fetching = f"could not be fetched from {where} ({reason})"
            raise self._error(entry, wanted_by, fetching) from None
        try:
            self._checked(entry, partial, where, wanted_by, shown_name=name)
        except PackageSourceError:
            partial.unlink()
            raise
        partial.replace(cached)
        return cached

    def _checked(
        self, entry: dict[str, Any], path: Path, source: str, wanted_by: str, shown_name: str = ""
    ) -> Path:
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise PackageSourceError(
                f"{shown_name or path.name} from {source} has sha256 {actual}, but "
                f"{self.lock_path} says {entry['sha256']}: refused (it is {entry['name']} "
                f"{entry['version']}, wanted by {wanted_by})"
            )
        return path

    def _error(self, entry: dict[str, Any], wanted_by: str, what: str) -> PackageSourceError:
        point = POINT_ELSEWHERE.format(version=self.version)
        return PackageSourceError(
            f"{entry['name']} {entry['version']} ({entry['file_name']}), wanted by {wanted_by}, "
            f"{what}; {point}"
        )


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def _check_same_platform(lock: Path, document: dict[str, Any], npm_lock: Path) -> None:
    """A substitute lock must be for the same Python and ABI as the core the dist serves."""
    ours = json.loads(npm_lock.read_text())["info"]
    theirs = document.get("info", {})
    for key in ("python", "abi_version", "platform", "arch"):
        if theirs.get(key) != ours.get(key):
            raise PackageSourceError(
                f"--pyodide-lock {lock}: its info.{key} is {theirs.get(key)!r}, but the dist's "
                f"Pyodide core ({npm_lock}) has {ours.get(key)!r}"
            )


def _check_entries(lock: Path, packages: Any) -> None:
    """What the build reads of each entry of a substitute lock must be there."""
    if not isinstance(packages, dict):
        raise PackageSourceError(f"--pyodide-lock {lock}: `packages` is not an object")
    for key, entry in packages.items():
        fields = entry if isinstance(entry, dict) else {}
        missing = [f for f in ("name", "version", "file_name", "sha256") if f not in fields]
        if missing or not isinstance(fields.get("depends", []), list):
            what = f"lacks {', '.join(missing)}" if missing else "has depends that is not a list"
            raise PackageSourceError(f"--pyodide-lock {lock}: the entry {key} {what}")
