"""`cloche mcp --grant`: which hosts a Python package's Deno process may reach (`--allow-net`).

The operator grants what the page's user would: a package's declared network, nothing beyond it.
`--grant PACKAGE` gives the exact hosts it declares; `--grant PACKAGE=HOST[:PORT],...` names hosts
within its declared patterns, which is how a package that declares `https://*` (web.fetch) gets
any network at all: Deno's --allow-net has no wildcard hosts, and a bare --allow-net would open
every address, private ones too.
"""

from __future__ import annotations

from collections.abc import Iterable

from .catalog import PythonPackage

Grants = dict[str, tuple[str, ...]]


class GrantError(ValueError):
    pass


def _pattern_host(pattern: str) -> tuple[str, str | None]:
    """The host and port of a declared origin pattern like `https://*.example.org:8443`."""
    rest = pattern.partition("://")[2].split("/", 1)[0].lower()
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit():
        return rest, None
    return host, port


def _host_port(text: str) -> tuple[str, str | None]:
    host, colon, port = text.lower().rpartition(":")
    if colon and port.isdigit() and host:
        return host, port
    return text.lower(), None


def _allowed(pattern: str, host: str, port: str | None) -> bool:
    pattern_host, pattern_port = _pattern_host(pattern)
    if pattern_port is not None and port != pattern_port:
        return False
    if pattern_host == "*":
        return True
    if pattern_host.startswith("*."):
        return host.endswith(pattern_host[1:])
    return host == pattern_host


def _declared_hosts(package: PythonPackage) -> tuple[str, ...]:
    hosts = []
    for pattern in package.network:
        host, port = _pattern_host(pattern)
        if "*" not in host:
            hosts.append(f"{host}:{port}" if port else host)
    return tuple(dict.fromkeys(hosts))


def resolve_grants(packages: Iterable[PythonPackage], given: Iterable[str]) -> Grants:
    """`--grant` values (`PACKAGE` or `PACKAGE=HOST,...`) as the hosts each package may reach."""
    by_name = {p.name: p for p in packages}
    by_namespace = {n: p for p in packages for n in p.namespaces}
    grants: Grants = {}
    for text in given:
        name, equals, listed = text.partition("=")
        package = by_name.get(name) or by_namespace.get(name)
        if package is None:
            raise GrantError(f"--grant {text}: no Python package named {name} is served")
        if not package.network:
            raise GrantError(f"--grant {text}: {package.name} declares no network to grant")
        declared = ", ".join(package.network)
        if not equals:
            hosts = _declared_hosts(package)
            if not hosts:
                raise GrantError(
                    f"--grant {text}: {package.name} declares only wildcard origins ({declared}), "
                    f"which Deno cannot grant as they are; name the hosts: "
                    f"--grant {name}=api.example.org[,...]"
                )
        else:
            hosts = tuple(h.strip() for h in listed.split(",") if h.strip())
            for host in hosts:
                if not any(_allowed(p, *_host_port(host)) for p in package.network):
                    raise GrantError(
                        f"--grant {text}: {host} is not within what {package.name} declares "
                        f"({declared})"
                    )
        grants[package.name] = tuple(dict.fromkeys(grants.get(package.name, ()) + hosts))
    return grants
