"""Hatchling build hook: the root wheel carries the built dist/ as `cloche_server/dist`.

So `pip install cloche-*.whl` alone gives `cloche serve` the app (no npm, no build step). The
wheel that Pyodide loads is another project (`cloche build` makes it from py_runtime/cloche only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

REQUIRED = ("index.html", "registry.json", "pyodide-lock.json")


class DistBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install serves the checkout's dist/ itself
        dist = Path(self.root) / "dist"
        missing = [name for name in REQUIRED if not (dist / name).is_file()]
        if missing:
            raise RuntimeError(
                f"the cloche wheel carries the built app, but {dist} has no "
                f"{', '.join(missing)}: run `cloche build` first"
            )
        build_data["force_include"][str(dist)] = "cloche_server/dist"
