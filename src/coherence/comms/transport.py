"""Keep-alive HTTP/1.1 for the channels: a small connection pool over the standard library.

A busy dispatcher spends most of its time sending, and httpx costs about five times the CPU
per request of ``http.client`` (measured on the benchmark's receiver: 264 against 49
microseconds a request); the channels need nothing httpx adds beyond what is here.
"""

from __future__ import annotations

import contextlib
import http.client
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

from coherence.comms.domain import DeliveryFailed, Outcome

# A kept connection the server has meanwhile closed fails like this on its next request,
# before anything was sent that could have been acted on; one retry on a new connection.
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Reply:
    """What the server answered."""

    status: int
    body: bytes

    @property
    def text(self) -> str:
        """The body as text, for error details."""
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class _Route:
    """Where connections for one origin go: straight there, or through a proxy."""

    scheme: str
    host: str
    port: int
    proxy: tuple[str, str, int] | None  # scheme, host, port

    def connect(self, timeout: float, context: ssl.SSLContext) -> http.client.HTTPConnection:
        if self.proxy is None:
            return _connection(self.scheme, self.host, self.port, timeout, context)
        scheme, host, port = self.proxy
        connection = _connection(scheme, host, port, timeout, context)
        if self.scheme == "https":
            connection.set_tunnel(self.host, self.port)
        return connection

    def target(self, path: str) -> str:
        """The request target: the path, or the absolute URL for a plain-HTTP proxy."""
        if self.proxy is not None and self.scheme == "http":
            return f"http://{self.host}:{self.port}{path}"
        return path


def _connection(
    scheme: str, host: str, port: int, timeout: float, context: ssl.SSLContext
) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    return http.client.HTTPConnection(host, port, timeout=timeout)


class ConnectionPool:
    """Thread-safe keep-alive connections per origin; every step bounded by ``timeout``."""

    def __init__(self, *, timeout: float, user_agent: str, max_idle: int = 32) -> None:
        self._timeout = timeout
        self._user_agent = user_agent
        self._max_idle = max_idle
        self._context = ssl.create_default_context()
        self._proxies = getproxies()
        self._idle: dict[_Route, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def request(self, method: str, url: str, *, body: bytes, headers: Mapping[str, str]) -> Reply:
        """Send one request and read the whole answer; failures raise ``DeliveryFailed``."""
        route, path = self._route(url)
        headers = {"User-Agent": self._user_agent, **headers}
        connection, reused = self._take(route)
        try:
            return self._exchange(connection, route, method, path, body, headers)
        except STALE:
            if reused:
                fresh = route.connect(self._timeout, self._context)
                with contextlib.suppress(*STALE):
                    return self._exchange(fresh, route, method, path, body, headers)
        raise self._failed(route, "the server closed the connection mid-request")

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        route: _Route,
        method: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> Reply:
        try:
            if connection.sock is None:
                self._open(connection, route)
            connection.request(method, route.target(path), body=body, headers=dict(headers))
            response = connection.getresponse()
            reply = Reply(response.status, response.read())
        except STALE:
            connection.close()
            raise
        except TimeoutError:
            connection.close()
            raise DeliveryFailed(
                Outcome.TIMEOUT, f"{route.host} did not answer within {self._timeout:g} s"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise self._failed(route, f"{type(exc).__name__}: {exc}") from None
        if response.will_close:
            connection.close()
        else:
            self._give_back(route, connection)
        return reply

    def _open(self, connection: http.client.HTTPConnection, route: _Route) -> None:
        try:
            connection.connect()
        except TimeoutError:
            connection.close()
            raise DeliveryFailed(
                Outcome.TIMEOUT, f"{route.host} did not answer within {self._timeout:g} s"
            ) from None
        except OSError as exc:
            connection.close()
            raise DeliveryFailed(
                Outcome.REFUSED, f"cannot connect to {route.host}: {exc}"
            ) from None

    def _failed(self, route: _Route, detail: str) -> DeliveryFailed:
        return DeliveryFailed(Outcome.ERROR, f"{route.host}: {detail}")

    def _route(self, url: str) -> tuple[_Route, str]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if scheme not in DEFAULT_PORTS or not host:
            raise DeliveryFailed(Outcome.ERROR, f"not an http(s) URL: {url[:60]}")
        port = port or DEFAULT_PORTS[scheme]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return _Route(scheme, host, port, self._proxy_for(scheme, host)), path

    def _proxy_for(self, scheme: str, host: str) -> tuple[str, str, int] | None:
        proxy = self._proxies.get(scheme)
        if not proxy or proxy_bypass(host):
            return None
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        proxy_scheme = parts.scheme.lower() if parts.scheme.lower() in DEFAULT_PORTS else "http"
        if not parts.hostname:
            return None
        return proxy_scheme, parts.hostname, parts.port or DEFAULT_PORTS[proxy_scheme]

    def _take(self, route: _Route) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(route)
            if idle:
                return idle.pop(), True
        return route.connect(self._timeout, self._context), False

    def _give_back(self, route: _Route, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(route, [])
            if len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()
