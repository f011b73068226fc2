"""Callback URLs: which ones may be called (SSRF), and the signed POST that calls one.

A callback URL names a server of the caller's. Unchecked, it would let anyone
make our functions call what only they can reach: the metadata server (and
its credentials), private networks, the functions themselves. So:

- production: ``https`` only, no ``user:password@``, and every address the
  host resolves to must be global (not private, loopback, link-local,
  multicast, reserved, unspecified, shared address space: ``NOT_GLOBAL``);
- local (``CALLBACK_LOOPBACK_ONLY``): loopback receivers only, ``http``
  allowed, and no name is resolved (``localhost`` is 127.0.0.1): the tests
  and the stack never send a packet past the loopback interface.

Checked at ingress (400 with the reason) and again at delivery. At delivery
the POST connects to the very address that was checked (resolving the name
again would let DNS rebinding slip through) while TLS is still verified
against the host name; redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Callable, Iterable
from urllib.parse import urlsplit

MAX_URL_CHARS = 2048
# The shape ingress accepts (the OpenAPI spec's pattern, checked by tests):
# scheme, host[:port] of host-name or IP-literal characters (so no
# user:password@), then an optional path and query of printable ASCII. What
# the host may be is checked after.
URL_PATTERN = re.compile(r"https?://[A-Za-z0-9.:\[\]-]+(?:[/?][!-~]*)?")
# Names of the metadata server, refused before any resolving.
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog"})
# Why an address may not be called, first match wins (ipaddress's flags).
NOT_GLOBAL = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address (the metadata server is one)"),
    ("is_private", "a private address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
)
LOCAL_NAMES = {"localhost": "127.0.0.1"}


class UnsafeUrl(ValueError):
    """A URL that may never be called: the caller's mistake (400), or a
    reply that can never be delivered (dead-lettered)."""


class Unresolvable(OSError):
    """The host name did not resolve now (may at the next attempt)."""


def is_well_formed(url: str) -> bool:
    return len(url) <= MAX_URL_CHARS and URL_PATTERN.fullmatch(url) is not None


@dataclass(frozen=True)
class Target:
    """A checked callback: where to connect, and what to say the host is."""

    scheme: str
    host: str  # as written (Host header, TLS server name)
    port: int
    path: str  # path and query
    address: str  # the checked IP address the connection goes to


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise Unresolvable(f"{host} does not resolve ({error.strerror})") from None
    return [info[4][0] for info in infos]


def why_not_global(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for flag, reason in NOT_GLOBAL:
        if getattr(ip, flag):
            return reason
    return None if ip.is_global else "not a global address"


class CallbackPolicy:
    def __init__(self, loopback_only: bool, resolve: Callable[[str, int], Iterable[str]] = _resolve) -> None:
        self.loopback_only = loopback_only
        self._resolve = resolve

    def check(self, url: str) -> Target:
        """The target ``url`` may be called at, or ``UnsafeUrl`` (``Unresolvable``) saying why not."""
        if not isinstance(url, str) or not is_well_formed(url):
            raise UnsafeUrl(f"callback_url must be an http(s) URL of at most {MAX_URL_CHARS} characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise UnsafeUrl(f"callback_url is not a valid URL ({error})") from None
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise UnsafeUrl("callback_url has no host")
        if host in METADATA_HOSTS:
            raise UnsafeUrl("callback_url must not name the metadata server")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if self.loopback_only:
            address = self._loopback_address(host)
        else:
            if parts.scheme != "https":
                raise UnsafeUrl("callback_url must be https")
            address = self._global_address(host, port or 443)
        return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path, address)

    @staticmethod
    def _loopback_address(host: str) -> str:
        address = LOCAL_NAMES.get(host, host.strip("[]"))
        try:
            loopback = ipaddress.ip_address(address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise UnsafeUrl("callback_url must be a loopback address here (CALLBACK_LOOPBACK_ONLY)")
        return address

    def _global_address(self, host: str, port: int) -> str:
        addresses = list(self._resolve(host.strip("[]"), port))
        if not addresses:
            raise Unresolvable(f"{host} has no address")
        for address in addresses:
            reason = why_not_global(address)
            if reason:
                raise UnsafeUrl(f"callback_url resolves to {reason}")
        return addresses[0]


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the first bytes only: for the logs and the dead letter's reason


def post(target: Target, body: bytes, headers: dict[str, str], timeout_s: float, ca_certs: str | None = None) -> Answer:
    """POST ``body`` to the checked address (no redirects, no retries here:
    Pub/Sub redelivery is the retry, with backoff). TLS is verified against
    the host name, with the system's CAs (or ``ca_certs``)."""
    import urllib3

    timeout = urllib3.Timeout(total=timeout_s)
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, timeout=timeout, retries=False, maxsize=1,
            server_hostname=target.host, assert_hostname=target.host, cert_reqs="CERT_REQUIRED", ca_certs=ca_certs,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False, maxsize=1)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    with pool:
        response = pool.urlopen(
            "POST", target.path, body=body, headers={**headers, "Host": host_header},
            redirect=False, retries=False, preload_content=False,
        )
        try:
            return Answer(response.status, response.read(256).decode("utf-8", "replace"))
        finally:
            response.release_conn()
