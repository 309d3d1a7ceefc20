"""pyodide.http.pyfetch as a Cloche worker gives it to tool code: cloche.http.fetch underneath."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import pytest

from cloche import _pyfetch, http


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    async def host(method: str, params: dict[str, Any]) -> Any:
        seen.append(params)
        return {
            "status": 404,
            "statusText": "Not Found",
            "url": params["url"] + "?moved",
            "headers": [["Content-Type", "application/json; charset=latin-1"], ["X-A", "1"]],
            "body": base64.b64encode('{"é": 1}'.encode()).decode(),
        }

    monkeypatch.setattr(http, "_request", host)
    yield seen


def pyfetch(url: Any, **kwargs: Any) -> _pyfetch.FetchResponse:
    return asyncio.run(_pyfetch.pyfetch(url, **kwargs))


def test_method_headers_and_body_go_to_the_host(asked: list[dict[str, Any]]) -> None:
    pyfetch(
        "https://api.example.org/x",
        method="POST",
        headers={"Accept": "application/json"},
        body="{}",
        mode="cors",
        credentials="omit",
        cache="no-store",
    )
    assert asked == [
        {
            "url": "https://api.example.org/x",
            "method": "POST",
            "headers": [["Accept", "application/json"]],
            "body": base64.b64encode(b"{}").decode(),
        }
    ]


def test_the_response_reads_like_pyodides(asked: list[dict[str, Any]]) -> None:
    response = pyfetch("https://api.example.org/x")
    assert (response.status, response.status_text, response.ok) == (404, "Not Found", False)
    assert (response.url, response.redirected) == ("https://api.example.org/x?moved", True)
    assert response.headers == {"content-type": "application/json; charset=latin-1", "x-a": "1"}

    async def read() -> tuple[Any, ...]:
        view = await response.memoryview()
        return (
            await response.text(),
            await response.string(),
            await response.json(),
            await response.bytes(),
            bytes(view),
        )

    # As in JavaScript, text() is UTF-8 whatever the Content-Type says.
    assert asyncio.run(read()) == (
        '{"é": 1}',
        '{"é": 1}',
        {"é": 1},
        '{"é": 1}'.encode(),
        '{"é": 1}'.encode(),
    )
    with pytest.raises(OSError, match=r"404 Client Error: Not Found for url: https://api"):
        response.raise_for_status()
    assert response.clone().status == 404


def test_what_the_host_cannot_honour_is_refused_by_name(asked: list[dict[str, Any]]) -> None:
    with pytest.raises(TypeError, match=r"cannot honour fetcher, redirect='manual'"):
        pyfetch("https://a.test/", fetcher=object(), redirect="manual")
    with pytest.raises(TypeError, match=r"cannot honour signal"):
        pyfetch("https://a.test/", signal=object())
    with pytest.raises(TypeError, match="takes the URL as a str"):
        pyfetch(object())
    assert asked == []


def test_a_refusal_is_the_fetch_error_an_oserror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "_request", None)
    with pytest.raises(OSError, match="no host"):
        pyfetch("https://a.test/")
