"""Fixtures for chaos tests: a webhook receiver that counts each message id, NATS."""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.conftest import IN_CI
from tests.helpers import Receiver

NATS_URL = os.environ.get("COHERENCE_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
def receiver() -> Iterator[str]:
    """A webhook receiver on loopback; Receiver.received counts each message id."""
    Receiver.received = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def nats_url() -> str:
    """The NATS server's URL; skips (fails under CI) when nothing listens there."""
    parts = urlsplit(NATS_URL)
    try:
        socket.create_connection((parts.hostname or "", parts.port or 4222), timeout=2).close()
    except OSError as exc:
        message = f"no NATS server at {NATS_URL} ({exc})"
        if IN_CI:
            pytest.fail(message + "; under CI=true this is a failure, not a skip")
        pytest.skip(message + "; set COHERENCE_TEST_NATS_URL to run this")
    return NATS_URL
