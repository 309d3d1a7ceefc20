"""Output capture: each task sees only what it printed itself; the real streams come back."""

import asyncio
import sys

from cloche import captured_output


def test_captures_stdout_and_stderr_and_restores_the_streams() -> None:
    before = sys.stdout, sys.stderr
    with captured_output() as out:
        print("hello")
        print("oops", file=sys.stderr)
    assert (out.stdout, out.stderr) == ("hello\n", "oops\n")
    assert (sys.stdout, sys.stderr) == before


def test_nested_capture_takes_the_inner_output() -> None:
    with captured_output() as outer:
        print("a")
        with captured_output() as inner:
            print("b")
        print("c")
    assert (outer.stdout, inner.stdout) == ("a\nc\n", "b\n")


def test_concurrent_tasks_do_not_mix_their_output() -> None:
    async def worker(name: str) -> str:
        with captured_output() as out:
            for i in range(3):
                print(f"{name}{i}")
                await asyncio.sleep(0)
        return out.stdout

    async def main() -> list[str]:
        return await asyncio.gather(worker("a"), worker("b"))

    assert asyncio.run(main()) == ["a0\na1\na2\n", "b0\nb1\nb2\n"]
