"""`cloche` runs inside Pyodide, loaded by name from the dist's lock."""

from pytest_pyodide import run_in_pyodide

import cloche


@run_in_pyodide(packages=["cloche"])
def _version_in_pyodide(selenium: object) -> str:
    import cloche

    return cloche.__version__


@run_in_pyodide(packages=["cloche"])
def _python_in_pyodide(selenium: object) -> list[int]:
    import sys

    return list(sys.version_info[:2])


def test_cloche_imports_with_the_host_build_version(selenium: object) -> None:
    assert _version_in_pyodide(selenium) == cloche.__version__


def test_runs_on_pyodide_python_3_14(selenium: object) -> None:
    assert _python_in_pyodide(selenium) == [3, 14]
