"""The channels' HTTP transport on real local servers: keep-alive, stale connections, proxies."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from coherence.comms.domain import DeliveryFailed, Outcome
from coherence.comms.transport import ConnectionPool


@dataclass
class Seen:
    """What a test server saw: connections accepted and request lines read."""

    connections: int = 0
    requests: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serve(
    seen: Seen, *, close_after_each: bool = False, announce_close: bool = False
) -> Iterator[str]:
    """Run an HTTP/1.1 server on loopback answering 200 to everything; yield its base URL."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            seen.connections += 1
            while True:
                request_line = self.rfile.readline().decode().strip()
                if not request_line:
                    return
                length = 0
                while (line := self.rfile.readline().decode().strip()) != "":
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                self.rfile.read(length)
                seen.requests.append(request_line)
                extra = "Connection: close\r\n" if announce_close else ""
                self.wfile.write(f"HTTP/1.1 200 OK\r\n{extra}Content-Length: 2\r\n\r\nok".encode())
                self.wfile.flush()
                if close_after_each or announce_close:
                    # Without announcing it, as a server closing an idle connection does.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    pool = ConnectionPool(timeout=2, user_agent="test")
    yield pool
    pool.close()


def test_requests_to_one_origin_share_one_kept_connection(pool: ConnectionPool) -> None:
    seen = Seen()
    with serve(seen) as url:
        replies = [pool.request("POST", f"{url}/hook", body=b"{}", headers={}) for _ in range(5)]
    assert [r.status for r in replies] == [200] * 5
    assert seen.connections == 1


def test_a_connection_the_server_dropped_while_idle_is_replaced_without_failing(
    pool: ConnectionPool,
) -> None:
    seen = Seen()
    with serve(seen, close_after_each=True) as url:
        first = pool.request("POST", f"{url}/hook", body=b"1", headers={})
        second = pool.request("POST", f"{url}/hook", body=b"2", headers={})
    assert (first.status, second.status) == (200, 200)
    assert seen.connections == 2
    assert len(seen.requests) == 2


def test_a_connection_the_server_announced_closing_is_not_kept(pool: ConnectionPool) -> None:
    seen = Seen()
    with serve(seen, announce_close=True) as url:
        for _ in range(3):
            pool.request("POST", f"{url}/hook", body=b"{}", headers={})
    assert seen.connections == 3


def test_a_port_nobody_listens_on_is_refused() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
        with pytest.raises(DeliveryFailed) as failure:
            ConnectionPool(timeout=1, user_agent="test").request("POST", url, body=b"", headers={})
    assert failure.value.outcome is Outcome.REFUSED


@pytest.mark.parametrize("url", ["ftp://example.org/x", "not a url", "http:///nohost"])
def test_an_address_that_is_not_http_fails_as_an_error(pool: ConnectionPool, url: str) -> None:
    with pytest.raises(DeliveryFailed) as failure:
        pool.request("POST", url, body=b"", headers={})
    assert failure.value.outcome is Outcome.ERROR


def test_plain_http_goes_through_the_configured_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = Seen()
    with serve(seen) as proxy:
        monkeypatch.setenv("http_proxy", proxy)
        for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
            monkeypatch.delenv(name, raising=False)
        via_proxy = ConnectionPool(timeout=2, user_agent="test")
        reply = via_proxy.request("POST", "http://hooks.example.org/in?x=1", body=b"", headers={})
        via_proxy.close()
    assert reply.status == 200
    assert seen.requests == ["POST http://hooks.example.org:80/in?x=1 HTTP/1.1"]


def test_hosts_in_no_proxy_are_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    seen_direct = Seen()
    with serve(seen_direct) as url:
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # discard port: would fail
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        direct = ConnectionPool(timeout=2, user_agent="test")
        reply = direct.request("POST", f"{url}/hook", body=b"", headers={})
        direct.close()
    assert reply.status == 200
    assert seen_direct.requests == ["POST /hook HTTP/1.1"]
