"""DNS rebinding: the server answers only to its own host names, on every path, not only /v1."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from relay_fakes import WAIT, FakeUpstream, Reply, ServerThread, openai_completion, relay_config
from starlette.testclient import TestClient

from cloche_server import cli
from cloche_server.allowed_hosts import AllowedHosts, allowed_hosts, load_allowed_hosts
from cloche_server.app import create_app
from cloche_server.relay import ConfigError

HELLO = {"model": "gpt", "messages": [{"role": "user", "content": "hi"}]}
StartServer = Callable[[AllowedHosts], str]


@pytest.fixture
def start_server(dist: Path, upstreams: tuple[FakeUpstream, FakeUpstream]) -> Iterator[StartServer]:
    """The real app under uvicorn on 127.0.0.1, with the given allowed host names."""
    servers: list[ServerThread] = []

    def start(hosts: AllowedHosts) -> str:
        config = relay_config(upstreams[0].url, upstreams[1].url)
        server = ServerThread(create_app(dist, config, allowed_hosts=hosts))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def port_of(url: str) -> str:
    return url.rsplit(":", 1)[1]


def test_a_rebinding_page_is_refused_everywhere(
    start_server: StartServer, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    url = start_server(AllowedHosts())
    port = port_of(url)
    # What a page of evil.example sends once its name resolves to 127.0.0.1: Host and Origin agree.
    rebound = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    with httpx.Client(base_url=url, timeout=WAIT, headers=rebound) as client:
        chat = client.post("/v1/chat/completions", json=HELLO)
        models = client.get("/v1/models")
        page = client.get("/")
        health = client.get("/healthz")
    assert upstreams[0].seen == []  # no key was spent
    for refused in (chat, models):
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/json"
        error = refused.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert (error["type"], error["code"]) == ("invalid_request_error", "host_not_allowed")
        assert "--allowed-host evil.example" in error["message"]
    for refused in (page, health):
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("text/plain")
        assert refused.text == (
            "This server does not answer to the host name evil.example; its operator can allow "
            "it with `cloche serve --allowed-host evil.example` or [server] allowed_hosts in the "
            "config."
        )
    # The refusal still carries the security headers every response gets.
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert "content-security-policy" in page.headers


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}",
        "localhost:{port}",
        "LocalHost",
        "localhost.:{port}",
        "[::1]:{port}",
        "[::1]",
        "192.168.1.20:8000",  # the machine's LAN address, or a container's: no name to rebind
        "10.0.0.7",
    ],
)
def test_loopback_names_and_ip_addresses_are_answered(
    start_server: StartServer, upstreams: tuple[FakeUpstream, FakeUpstream], host: str
) -> None:
    url = start_server(AllowedHosts())
    host = host.format(port=port_of(url))
    upstreams[0].then(Reply(openai_completion()))
    # The page's own origin sends the same name in Origin and Host.
    headers = {"Host": host, "Origin": f"http://{host}"}
    with httpx.Client(base_url=url, timeout=WAIT, headers=headers) as client:
        assert client.get("/").status_code == 200
        assert client.get("/v1/models").status_code == 200
        assert client.post("/v1/chat/completions", json=HELLO).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "evil.example:8000",
        "",
        "a b",
        "[::1",
        "localhost:80:80",
        "[evil.example]:80",
        "localhost/x",
    ],
)
def test_other_names_and_malformed_hosts_are_refused(start_server: StartServer, host: str) -> None:
    url = start_server(AllowedHosts())
    with httpx.Client(base_url=url, timeout=WAIT, headers={"Host": host}) as client:
        refused = client.get("/v1/models")
        assert client.get("/index.html").status_code == 400
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "host_not_allowed"


def test_a_request_without_host_is_refused(start_server: StartServer) -> None:
    url = start_server(AllowedHosts())
    with socket.create_connection(("127.0.0.1", int(port_of(url))), timeout=WAIT) as conn:
        conn.sendall(b"GET /v1/models HTTP/1.0\r\n\r\n")  # HTTP/1.0 may leave Host out
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split()[1] == b"400"
    assert b'"code": "host_not_allowed"' in body
    assert b"missing or malformed" in body


def test_names_the_operator_lists_are_answered_and_no_others(
    start_server: StartServer, upstreams: tuple[FakeUpstream, FakeUpstream]
) -> None:
    hosts = allowed_hosts("0.0.0.0", ["app.example.org", "relay.example.net"])
    url = start_server(hosts)
    upstreams[0].fallback = lambda body: Reply(openai_completion())
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        for host in ("app.example.org", "APP.example.org:443", "relay.example.net:8000"):
            same_origin = {"Host": host, "Origin": f"https://{host}"}
            answer = client.post("/v1/chat/completions", json=HELLO, headers=same_origin)
            assert answer.status_code == 200, host
        for host in ("example.org", "www.app.example.org", "app.example.org.evil.example"):
            assert client.get("/", headers={"Host": host}).status_code == 400, host
        assert client.get("/", headers={"Host": "localhost"}).status_code == 200


def test_the_name_given_to_host_is_answered_and_all_interfaces_add_no_name() -> None:
    assert allowed_hosts("127.0.0.1").names == ("localhost",)
    assert allowed_hosts("my-box.lan").names == ("localhost", "my-box.lan")
    for wildcard in ("0.0.0.0", "::"):
        assert allowed_hosts(wildcard).names == ("localhost",)
    assert AllowedHosts().refusal("my-box.lan") is not None
    assert allowed_hosts("my-box.lan").refusal("MY-BOX.lan:8000") is None


def test_allowed_hosts_come_from_the_config_file_and_the_flag(tmp_path: Path) -> None:
    config = tmp_path / "relay.toml"
    config.write_text('[server]\nallowed_hosts = ["App.Example.org", "[::1]"]\n')
    hosts = load_allowed_hosts(config, "0.0.0.0", ["docs.example.net."])
    assert hosts.names == ("localhost", "app.example.org", "docs.example.net")
    assert load_allowed_hosts(None, "127.0.0.1").names == ("localhost",)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('[server]\nallowed_hosts = ["https://app.example.org"]', "'https://app.example.org'"),
        ('[server]\nallowed_hosts = ["app.example.org:8443"]', "without scheme, port"),
        ('[server]\nallowed_hosts = ["*.example.org"]', "wildcard"),
        ('[server]\nallowed_hosts = ["app.example.org/x"]', "server.allowed_hosts"),
        ('[server]\nallowed_hosts = "app.example.org"', "must be a list"),
        ('[server]\nallowed_host = ["app.example.org"]', "unknown setting 'allowed_host'"),
        ("server = 1", "[server] must be a table"),
    ],
)
def test_a_bad_allowed_host_stops_the_start(tmp_path: Path, table: str, words: str) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(table + "\n")
    with pytest.raises(ConfigError) as caught:
        load_allowed_hosts(config, "127.0.0.1")
    assert words in str(caught.value)
    with pytest.raises(ConfigError, match="--allowed-host: 'evil example'"):
        load_allowed_hosts(None, "127.0.0.1", ["evil example"])


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    apps: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: apps.append(app))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return apps


def test_serve_answers_the_names_of_its_flags_and_says_which(
    served: list[Any], dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--dist", str(dist), "--host", "0.0.0.0"]
    argv += ["--allowed-host", "app.example.org", "--allowed-host", "docs.example.org"]
    assert cli.main(argv) == 0
    assert (
        "Host names this server answers to: localhost, app.example.org, docs.example.org and IP "
        "addresses" in capsys.readouterr().out
    )
    client = TestClient(served[0])
    assert client.get("/", headers={"Host": "docs.example.org"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_serve_with_a_bad_allowed_host_stops_with_the_reason(
    served: list[Any], dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--dist", str(dist), "--allowed-host", "https://app.example.org"]
    assert cli.main(argv) == 1
    assert "--allowed-host: 'https://app.example.org' is not an allowed host" in (
        capsys.readouterr().err
    )
    assert served == []
