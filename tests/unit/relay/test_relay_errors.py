"""Every refusal under /v1 is an OpenAI-format error with the right status, whoever makes it:
the relay, Starlette's routing, the CORS rules or the host check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest
from relay_fakes import WAIT, FakeUpstream, StartRelay

from cloche_server.relay.config import Limits, RelayConfig

TOKEN = "relay-token-for-errors-7"
DOCS = "https://docs.example.org"
HELLO = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
BIG_PROMPT = {"model": "gpt", "messages": [{"role": "user", "content": "x" * 1000}]}


@dataclass
class Case:
    method: str
    path: str
    status: int
    code: str | None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    content: bytes | None = None
    configured: bool = True
    # The relay these requests go to: with a token, an allow-listed docs site, small limits.
    relay: dict[str, Any] = field(
        default_factory=lambda: {
            "bearer_tokens": (TOKEN,),
            "cors_origins": (DOCS,),
            "limits": Limits(max_body_bytes=2000, tokens_per_minute=100),
        }
    )


AUTH = {"Authorization": f"Bearer {TOKEN}"}
PREFLIGHT = {"Access-Control-Request-Method": "POST"}
CASES = {
    "unknown path": Case("GET", "/v1/completions", 404, "not_found", AUTH),
    "the prefix alone": Case("GET", "/v1", 404, "not_found", AUTH),
    "the prefix and a slash": Case("GET", "/v1/", 404, "not_found", AUTH),
    "a header injection in the path": Case(
        "GET", "/v1/models/oai%0d%0aX-Injected:%201", 404, "not_found", AUTH
    ),
    "unknown model": Case("GET", "/v1/models/gpt-5", 404, "model_not_found", AUTH),
    "unknown model in a chat": Case(
        "POST", "/v1/chat/completions", 404, "model_not_found", AUTH, {**HELLO, "model": "x"}
    ),
    "GET on chat": Case("GET", "/v1/chat/completions", 405, None, AUTH),
    "PUT on models": Case("PUT", "/v1/models", 405, None, AUTH),
    "OPTIONS that is no preflight": Case("OPTIONS", "/v1/chat/completions", 405, None, AUTH),
    "bad JSON": Case("POST", "/v1/chat/completions", 400, "invalid_json", AUTH, content=b"{x"),
    "a body over the limit": Case(
        "POST", "/v1/chat/completions", 413, "request_too_large", AUTH, content=b"x" * 3000
    ),
    "a prompt larger than the token budget": Case(
        "POST",
        "/v1/chat/completions",
        400,
        "request_exceeds_tokens_per_minute",
        AUTH,
        BIG_PROMPT,
    ),
    "no token": Case("POST", "/v1/chat/completions", 401, "invalid_token", {}, HELLO),
    "no token for models": Case("GET", "/v1/models", 401, "invalid_token"),
    "a foreign origin": Case(
        "POST",
        "/v1/chat/completions",
        403,
        "origin_not_allowed",
        {**AUTH, "Origin": "https://evil.example"},
        HELLO,
    ),
    "a preflight from a foreign origin": Case(
        "OPTIONS",
        "/v1/chat/completions",
        403,
        "origin_not_allowed",
        {"Origin": "https://evil.example", **PREFLIGHT},
    ),
    "a preflight when no other origin is allowed": Case(
        "OPTIONS",
        "/v1/models",
        403,
        "origin_not_allowed",
        {"Origin": DOCS, **PREFLIGHT},
        relay={},
    ),
    "a preflight for another method": Case(
        "OPTIONS",
        "/v1/chat/completions",
        400,
        "cors_preflight_refused",
        {"Origin": DOCS, "Access-Control-Request-Method": "DELETE"},
    ),
    "a preflight for the private network": Case(
        "OPTIONS",
        "/v1/chat/completions",
        400,
        "cors_preflight_refused",
        {"Origin": DOCS, **PREFLIGHT, "Access-Control-Request-Private-Network": "true"},
    ),
    "a host that is not the server's": Case(
        "POST", "/v1/chat/completions", 400, "host_not_allowed", {**AUTH, "Host": "evil.example"}
    ),
    "nothing configured": Case(
        "POST", "/v1/chat/completions", 503, "no_provider_configured", {}, HELLO, configured=False
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_refusal_under_v1_is_an_openai_error(
    start_relay: StartRelay, upstreams: tuple[FakeUpstream, FakeUpstream], name: str
) -> None:
    case = CASES[name]
    url = start_relay(**case.relay) if case.configured else start_relay(RelayConfig())
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        response = client.request(
            case.method, case.path, headers=case.headers, json=case.body, content=case.content
        )
    assert response.status_code == case.status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == case.code
    assert isinstance(error["message"], str) and error["message"]
    assert "x-injected" not in response.headers
    assert upstreams[0].seen == []
    if case.status == 405:
        assert error["message"] == "Method not allowed here."
        assert "allow" in response.headers


def test_the_exact_refusal_bodies(start_relay: StartRelay) -> None:
    url = start_relay(cors_origins=(DOCS,))
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        unknown = client.get("/v1/models/oai%0d%0aX-Injected:%201")
        foreign = client.options("/v1/models", headers={"Origin": "https://e.test", **PREFLIGHT})
        method = client.options(
            "/v1/models", headers={"Origin": DOCS, "Access-Control-Request-Method": "PATCH"}
        )
        host = client.get("/v1/models", headers={"Host": "evil.example:8000"})
    assert unknown.json() == {
        "error": {
            "message": "No such endpoint on this relay.",
            "type": "invalid_request_error",
            "param": None,
            "code": "not_found",
        }
    }
    assert foreign.json() == {
        "error": {
            "message": "Requests from the origin https://e.test are not allowed by this relay; "
            "its operator can add it to security.cors_origins.",
            "type": "permission_error",
            "param": None,
            "code": "origin_not_allowed",
        }
    }
    assert method.json() == {
        "error": {
            "message": "This relay's CORS rules refuse the preflight's method (it asked for "
            "PATCH); they allow the methods GET and POST, any headers, and no private-network "
            "access.",
            "type": "invalid_request_error",
            "param": None,
            "code": "cors_preflight_refused",
        }
    }
    assert method.headers["access-control-allow-origin"] == DOCS
    assert host.json() == {
        "error": {
            "message": "This server does not answer to the host name evil.example; its operator "
            "can allow it with `cloche serve --allowed-host evil.example` or [server] "
            "allowed_hosts in the config.",
            "type": "invalid_request_error",
            "param": None,
            "code": "host_not_allowed",
        }
    }


def test_the_openai_client_raises_the_relays_refusals_as_its_own_errors(relay_url: str) -> None:
    with openai.OpenAI(base_url=relay_url + "/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError) as missing:
            client.models.retrieve("oai\r\nX-Injected: 1")
        with pytest.raises(openai.NotFoundError) as unknown:
            client.chat.completions.create(
                model="gpt-5", messages=[{"role": "user", "content": "x"}]
            )
    assert missing.value.code == "not_found"
    assert unknown.value.code == "model_not_found"
