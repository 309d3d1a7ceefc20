"""A build output assembled beside its folder and swapped in only once it is complete.

The staging folder starts as hard links to the current files, so an incremental build still only
writes what changed. Whoever writes into it must replace a file (write a temporary, then rename)
or unlink it first, never write into it: that would write through the link into the current
folder. A failed build leaves the folder exactly as it was; an unchanged one is not swapped at all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class StagingError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StagedFolder:
    def __init__(self, target: Path) -> None:
        self.target = target.resolve()
        self.path = self.target.with_name(f".{self.target.name}.staging")
        self._old = self.target.with_name(f".{self.target.name}.old")

    def open(self) -> Path:
        """Make the staging folder, holding what the target holds now; return its path."""
        if self.target.exists() and not self.target.is_dir():
            raise StagingError(f"{self.target} is not a folder")
        for leftover in (self.path, self._old):  # from a build that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        try:
            self.path.mkdir(parents=True)
            if self.target.is_dir():
                _link_tree(self.target, self.path)
        except OSError as error:
            self.discard()
            raise StagingError(f"cannot stage the build beside {self.target}: {error}") from None
        return self.path

    def unchanged(self) -> bool:
        """Whether the staging folder holds the very files of the target (same inodes for links,
        same size and time for copies), and no others."""
        if not self.target.is_dir():
            return False
        staged, current = _files(self.path), _files(self.target)
        if staged.keys() != current.keys():
            return False
        for relative, a in staged.items():
            b = current[relative]
            same_inode = (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)
            if not same_inode and (a.st_size, a.st_mtime_ns) != (b.st_size, b.st_mtime_ns):
                return False
        return True

    def commit(self) -> bool:
        """Put the staging folder in the target's place (unless nothing changed); return whether
        it did."""
        if self.unchanged():
            self.discard()
            return False
        try:
            if self.target.exists():
                self.target.rename(self._old)
            self.path.rename(self.target)
        except OSError as error:
            if self._old.exists() and not self.target.exists():
                self._old.rename(self.target)
            raise StagingError(f"cannot put the new build in {self.target}: {error}") from None
        shutil.rmtree(self._old, ignore_errors=True)
        return True

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def final(self, path: Path) -> Path:
        """Where a path inside the staging folder ends up."""
        return self.target / path.relative_to(self.path) if path.is_relative_to(self.path) else path


def _files(root: Path) -> dict[str, os.stat_result]:
    """Every file below root (by path relative to it) with its stat."""
    found = {}
    for folder, _, names in os.walk(root):
        prefix = os.path.relpath(folder, root)
        for name in names:
            path = os.path.join(folder, name)
            relative = name if prefix == "." else os.path.join(prefix, name)
            found[relative] = os.stat(path)
    return found


def _link_tree(source: Path, staging: Path) -> None:
    made = set()
    for relative in _files(source):
        destination = staging / relative
        if destination.parent not in made:
            destination.parent.mkdir(parents=True, exist_ok=True)
            made.add(destination.parent)
        try:
            os.link(source / relative, destination)
        except OSError:  # a file system without hard links
            shutil.copy2(source / relative, destination)
