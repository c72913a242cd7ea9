"""Where a webhook may be sent: to public addresses only, unless WEBHOOK_ALLOW_PRIVATE names private
networks a school wants to reach (its own student-information system, say).

Two checks, so a webhook cannot be pointed at the server's own network (SSRF): the admin's database,
Redis, a cloud metadata service at 169.254.169.254.

- On save (`saving_problem`, no DNS lookup): the address is http(s), carries no user:password, and a
  host written as an IP address, or "localhost", is public or allowed.
- At delivery (`resolve_target`): the host is resolved and *every* address must be public or
  allowed; the caller then connects to one of exactly those addresses, so a name that answers a public
  address to the check and a private one to the connection (DNS rebinding) cannot get through.

Both parse the address with httpx, as the sender does, so the host checked is the host called.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import socket
from functools import lru_cache
from urllib.parse import unquote

import httpx

log = logging.getLogger(__name__)

ALLOW_ENV = "WEBHOOK_ALLOW_PRIVATE"
SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the IPv4 address is the last 32 bits
LOCALHOST = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


class TargetRefused(Exception):
    """A webhook address that must not be called; the message says why (for the outbox row)."""


@lru_cache(maxsize=8)
def _parse_allowlist(raw: str) -> tuple[Network, ...]:
    networks = []
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:  # fail closed: a typo never opens more than was meant
            log.error("%s: %r is not an IP address or network (CIDR such as 10.0.0.0/8); ignored", ALLOW_ENV, item)
    return tuple(networks)


def allowlist() -> tuple[Network, ...]:
    """The private networks WEBHOOK_ALLOW_PRIVATE allows (comma- or space-separated CIDRs), read on
    every call so a changed environment (and a test's monkeypatch) takes effect."""
    return _parse_allowlist(os.environ.get(ALLOW_ENV, ""))


def _unwrapped(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(ip: IPAddress) -> bool:
    # ipaddress calls multicast (224.0.0.0/4, ff00::/8) "global"; a webhook has no business there.
    ip = _unwrapped(ip)
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def permitted(ip: IPAddress) -> bool:
    """Public, or inside a network WEBHOOK_ALLOW_PRIVATE allows."""
    if is_public(ip):
        return True
    plain = _unwrapped(ip)
    return any(ip in net or plain in net for net in allowlist())


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names without DNS: 10.0.0.1, ::1, and the shorthand forms resolvers read
    as IPv4 (127.1, 2130706433, 0x7f.0.0.1)."""
    host = unquote(host).split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) is not part of the address
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host, re.IGNORECASE):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_localhost(host: str) -> bool:
    host = unquote(host).rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")


def saving_problem(url: str) -> str | None:
    """Why `url` cannot be saved as a webhook, without a DNS lookup: "scheme" (not a full http(s)
    address), "credentials" (user:password@ in it), "private" (a private or local literal host); None
    when it may be saved."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "scheme"
    if parsed.scheme not in SCHEMES or not parsed.host:
        return "scheme"
    if parsed.userinfo:
        return "credentials"
    if _is_localhost(parsed.host):
        return None if any(permitted(ip) for ip in LOCALHOST) else "private"
    ip = literal_ip(parsed.host)
    if ip is not None and not permitted(ip):
        return "private"
    return None


async def resolve_target(url: httpx.URL) -> list[IPAddress]:
    """The addresses `url`'s host resolves to, each checked; raises TargetRefused when the address is
    not a plain http(s) one or any address is neither public nor allowed, and OSError (socket.gaierror)
    when the name does not resolve (retried: DNS failures are often brief)."""
    if url.scheme not in SCHEMES or not url.host:
        raise TargetRefused(f"refused: {url.scheme or '?'}:// is not http(s)")
    if url.userinfo:
        raise TargetRefused("refused: the address contains a user name or password")
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise OSError(f"{host} resolves to no address")
    refused = [ip for ip in found if not permitted(ip)]
    if refused:
        raise TargetRefused(
            f"refused: {host} resolves to {', '.join(map(str, refused))}, a private, local or reserved address; "
            f"{ALLOW_ENV} lists the private networks webhooks may call"
        )
    return found
