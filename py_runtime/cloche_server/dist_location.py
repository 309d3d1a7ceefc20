"""Which dist `cloche serve` (and the Sphinx extension) use when none is named.

A checkout's own dist/ comes first; otherwise the one an installed wheel carries as package data
(`cloche_server/dist`, added by hatch_build.py), so `pip install cloche-*.whl` needs no build.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGED_MARKER = "index.html"


def packaged_dist() -> Path | None:
    """The dist inside the installed cloche wheel, or None (a checkout, an editable install)."""
    folder = Path(str(files("cloche_server") / "dist"))
    return folder if (folder / PACKAGED_MARKER).is_file() else None


def default_dist(start: Path | None = None) -> Path:
    """The dist/ of the checkout around `start` (default: the cwd) when it is built, else the
    packaged one, else the checkout's dist/ (so the caller's error names the folder to build).
    Raises DistNotFound outside a checkout when no dist is packaged."""
    from .build import BuildError, Project, find_project_root

    packaged = packaged_dist()
    try:
        root = find_project_root(start)
    except BuildError:
        root = None
    # An installed wheel is no checkout: only a checkout around `start` counts, not one that
    # happens to hold the environment (find_project_root also looks around this package).
    if root is not None and packaged is not None:
        here = (start or Path.cwd()).resolve()
        if not here.is_relative_to(root.resolve()):
            root = None
    checkout = None if root is None else Project(root).default_dist
    if checkout is not None and (checkout / PACKAGED_MARKER).is_file():
        return checkout
    if packaged is not None:
        return packaged
    if checkout is not None:
        return checkout
    raise DistNotFound()


class DistNotFound(Exception):
    def __str__(self) -> str:
        return (
            "no dist to serve: this is not a Cloche checkout and the installed cloche has no "
            "packaged dist; pass --dist DIR (a folder `cloche build` made)"
        )
