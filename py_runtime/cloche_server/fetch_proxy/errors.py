"""The proxy's refusals: `{"error": {"code", "message"}}` with a non-2xx status, the message saying
what was wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse, Response

from .config import HOW_TO_TURN_ON


class ProxyError(Exception):
    """A refusal or an upstream failure, told to the page as JSON."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status_code} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"ProxyError({self.status_code}, {self.code!r}, {self.message!r})"

    def response(self) -> Response:
        return JSONResponse(
            {"error": {"code": self.code, "message": self.message}},
            status_code=self.status_code,
            headers={"cache-control": "no-store", **self.headers},
        )


def bad_request(message: str) -> ProxyError:
    return ProxyError(400, "bad_request", message)


def method_not_allowed(method: str) -> ProxyError:
    return ProxyError(
        405,
        "method_not_allowed",
        f"The fetch proxy takes POST, not {method}, with a JSON body: url, method, headers, body "
        "(base64) and allow.",
        headers={"Allow": "POST"},
    )


def proxy_off() -> ProxyError:
    return ProxyError(
        403,
        "proxy_off",
        f"This server's fetch proxy is off: its operator allows no origins. To turn it on, "
        f"{HOW_TO_TURN_ON}.",
    )


def origin_not_allowed(url: str, origin: str, redirected: bool) -> ProxyError:
    if redirected:
        what = f"The request was redirected to {url}, which this server's fetch allow-list does "
        what += "not cover; the redirect was not followed."
    else:
        what = f"{url} is at {origin}, which this server's fetch allow-list does not cover."
    return ProxyError(
        403,
        "origin_not_allowed",
        f"{what} Its operator can allow it with `cloche serve --fetch-allow {origin}` or "
        "[fetch] allow in the config.",
    )


def not_granted(url: str, origin: str, redirected: bool) -> ProxyError:
    if redirected:
        message = (
            f"The request was redirected to {url}, which the package's grant does not cover; the "
            "redirect was not followed."
        )
    else:
        message = (
            f"{url} is at {origin}, which the package's grant does not cover: the package must "
            "declare that origin, and the user grant it."
        )
    return ProxyError(403, "not_granted", message)


def private_address(url: str, address: str, origin: str, redirected: bool) -> ProxyError:
    what = f"The request was redirected to {url}, which" if redirected else f"{url}"
    followed = "; the redirect was not followed" if redirected else ""
    return ProxyError(
        403,
        "private_address",
        f"{what} leads to {address}, a private, loopback, link-local or otherwise non-public "
        f"address{followed}. The fetch proxy reaches one only if its operator lists that exact "
        f"origin (`cloche serve --fetch-allow {origin}`, no wildcard).",
    )


def too_many_redirects(limit: int, url: str) -> ProxyError:
    return ProxyError(
        502,
        "too_many_redirects",
        f"The upstream redirected more than {limit} times (the last time to {url}); the "
        "redirect was not followed.",
    )


def bad_redirect(url: str, location: str, why: str) -> ProxyError:
    return ProxyError(
        502,
        "bad_redirect",
        f"{url} redirected to {location[:500]!r}, which the proxy cannot follow: {why}.",
    )


def response_too_large(url: str, limit: int) -> ProxyError:
    return ProxyError(
        502,
        "response_too_large",
        f"The answer from {url} is larger than this server's limit of {limit} bytes; its "
        "operator can raise [fetch] max_response_bytes.",
    )


def request_too_large(limit: int) -> ProxyError:
    return ProxyError(
        413,
        "request_too_large",
        f"The request to the fetch proxy is larger than this server's limit of {limit} bytes "
        "(the body counts base64-encoded); its operator can raise [fetch] max_request_bytes.",
    )


def upstream_timeout(url: str, seconds: float) -> ProxyError:
    return ProxyError(
        504,
        "upstream_timeout",
        f"The fetch of {url} took longer than this server's limit of {seconds:g} s (redirects "
        "included); try again later, or its operator can raise [fetch] timeout_seconds.",
    )


def upstream_unreachable(url: str, why: str) -> ProxyError:
    return ProxyError(502, "upstream_unreachable", f"Could not fetch {url}: {why}.")


def busy(limit: int) -> ProxyError:
    return ProxyError(
        503,
        "busy",
        f"This server is making {limit} fetches at once, its limit; retry in a moment.",
        headers={"Retry-After": "1"},
    )


def foreign_origin(origin: str) -> ProxyError:
    return ProxyError(
        403,
        "foreign_origin",
        f"A page of {origin} may not use this server's fetch proxy: only the server's own pages "
        "(and origins its operator lists in [security] cors_origins) may.",
    )
