"""Chaos test plumbing: real `coherence` processes, a cuttable TCP proxy, a paced client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import nats
from nats.js.errors import NotFoundError
from sqlalchemy import Engine, func
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.catalog import service as catalog_service
from coherence.clock import SystemClock
from coherence.db import session_scope
from coherence.detection.nats_intake import STREAM, SUBJECT_PREFIX, Topology, ensure_stream
from coherence.documents import load_yaml_mapping
from coherence.ledger import keys
from coherence.ledger.models import LedgerEntry
from coherence.playbooks import service as playbooks_service
from coherence.settings import Settings
from tests.conftest import SAMPLE_FACILITY
from tests.helpers import database_url

CHANNEL_KINDS = ("email", "sms", "voice", "pager")
SITES = ("sc-lab", "ion-lab", "harbour-dc")


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(condition: Callable[[], object], seconds: float) -> bool:
    """Poll ``condition`` until it is true or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


class Deployment:
    """One test's processes, sharing a database, a data directory and a channels file."""

    def __init__(
        self, engine: Engine, tmp: Path, receiver: str, *, via: int | None = None, **settings: str
    ) -> None:
        """``via`` reaches PostgreSQL through a proxy on that loopback port instead of 5432."""
        self.tmp = tmp
        self.data_dir = tmp / "data"
        channels = tmp / "channels.yaml"
        channels.write_text(
            "channels:\n"
            + "".join(
                f"  {kind}:\n    type: webhook\n    url: {receiver}\n"
                "    secret: a-secret-of-sixteen-plus\n"
                for kind in CHANNEL_KINDS
            )
        )
        self.environment = {
            **os.environ,
            "COHERENCE_DATABASE_URL": (
                database_url(engine).replace(":5432/", f":{via}/") if via else database_url(engine)
            ),
            "COHERENCE_DATA_DIR": str(self.data_dir),
            "COHERENCE_CHANNELS_FILE": str(channels),
            "COHERENCE_WORKER_INTERVAL_SECONDS": "0.1",
            "COHERENCE_DISPATCH_LEASE_SECONDS": "2",
            **{f"COHERENCE_{name.upper()}": value for name, value in settings.items()},
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs = 0

    def prepare(self, factory: sessionmaker[Session], *, suffix: str = "") -> str:
        """Publish the playbooks, load the sample facility, make the ledger key; return a token.

        ``suffix`` is appended to the sample's site keys, so this test's NATS subjects and
        durable consumers are its own.
        """
        clock = SystemClock()
        settings = Settings(data_dir=self.data_dir)
        keys.ensure_signer(settings.resolved_ledger_key_file, origin=settings.ledger_origin)
        with session_scope(factory) as session:
            playbooks_service.publish_library(session, clock=clock, actor="test")
            catalog_service.load_facility(
                session,
                clock=clock,
                data=load_yaml_mapping(_renamed_sites(suffix), source="facility.yaml"),
                actor="test",
                source="facility.yaml",
            )
        return self.token_for(factory, "telemetry-gateway")

    def token_for(self, factory: sessionmaker[Session], person: str) -> str:
        """Return a new API token for one of the sample facility's people."""
        with session_scope(factory) as session:
            _row, secret = access_service.create_token(
                session, clock=SystemClock(), person_key=person, name="chaos", actor="test"
            )
        return secret

    def start(self, *args: str, url: str | None = None) -> subprocess.Popen[bytes]:
        """Start ``coherence ARGS``; with ``url``, wait until it answers /healthz."""
        self._logs += 1
        log = (self.tmp / f"process-{self._logs}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "coherence", *args],
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        if url is not None and not wait_for(lambda: _healthy(url, process), 30):
            raise AssertionError(f"coherence {' '.join(args)} did not come up:\n{self.logs()}")
        return process

    def serve(self, port: int, *extra: str) -> subprocess.Popen[bytes]:
        """Start `coherence serve` on ``port`` and wait until it answers."""
        return self.start(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
            url=f"http://127.0.0.1:{port}",
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one `coherence` command to completion."""
        return subprocess.run(
            [sys.executable, "-m", "coherence", *args],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def logs(self) -> str:
        """Every process's output so far, for failure messages."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.tmp.glob("process-*.log"))
        )

    def close(self) -> None:
        """Kill every process still running."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def _renamed_sites(suffix: str) -> str:
    text = SAMPLE_FACILITY.read_text(encoding="utf-8")
    for site in SITES:
        text = text.replace(site, site + suffix)
    return text


def kill9(process: subprocess.Popen[bytes]) -> None:
    """Kill a process with SIGKILL and reap it."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def _healthy(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the process exited with {process.returncode} while starting")
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def verify_ledger(deployment: Deployment, factory: sessionmaker[Session]) -> int:
    """Export the ledger, verify it offline with the verifier key; return its size."""
    with session_scope(factory) as session:
        seqs = list(session.scalars(sql_select(LedgerEntry.seq).order_by(LedgerEntry.seq)))
        assert session.scalar(sql_select(func.count()).select_from(LedgerEntry)) == len(seqs)
    assert seqs == list(range(len(seqs))), "the ledger has gaps"
    key = deployment.cli("ledger", "key")
    assert key.returncode == 0, key.stderr
    bundle = deployment.tmp / "ledger.bundle"
    exported = deployment.cli("ledger", "export", str(bundle))
    assert exported.returncode == 0, exported.stderr
    verified = deployment.cli("ledger", "verify", str(bundle), "--key", key.stdout.strip())
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK:"), verified.stdout
    return len(seqs)


def signal_body(key: str, asset: str) -> dict[str, object]:
    """A generic firing signal: each distinct ``key`` is one fault, so one incident."""
    return {
        "source": "chaos",
        "dedup_key": key,
        "asset": asset,
        "severity": "sev2",
        "status": "firing",
        "summary": f"chaos fault {key}",
    }


class Sender:
    """Sends signals one by one, retrying each until answered: an at-least-once client.

    ``accepted`` holds every key some process answered 2xx for.
    """

    def __init__(self, urls: list[str], token: str, keys_to_send: list[str], asset: str) -> None:
        self.urls = urls
        self.headers = {"Authorization": f"Bearer {token}"}
        self.pending = list(keys_to_send)
        self.asset = asset
        self.accepted: set[str] = set()
        self.failures = 0
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Start sending in a thread."""
        self._thread.start()

    def join(self, seconds: float) -> None:
        """Wait for the sender to have every key answered, or stop it."""
        self._thread.join(seconds)
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        turn = 0
        with httpx.Client(timeout=5) as client:
            while self.pending and not self._stop.is_set():
                key = self.pending[0]
                url = self.urls[turn % len(self.urls)]
                turn += 1
                try:
                    answer = client.post(
                        f"{url}/api/v1/signals",
                        json=signal_body(key, self.asset),
                        headers=self.headers,
                    )
                except httpx.HTTPError:
                    self.failures += 1
                    time.sleep(0.05)
                    continue
                self.statuses[answer.status_code] += 1
                if answer.status_code >= 500 or answer.status_code == 429:
                    self.failures += 1
                    self.errors.append(f"{answer.status_code} {answer.text[:200]}")
                    time.sleep(0.05)
                    continue
                assert answer.status_code == 200, answer.text
                self.accepted.add(self.pending.pop(0))


def nats_publish(url: str, site: str, payload: bytes) -> None:
    """Publish one telemetry message for ``site`` to JetStream, making the stream if needed."""

    async def run() -> None:
        connection = await nats.connect(url)
        js = connection.jetstream()
        await ensure_stream(js, Topology())
        await js.publish(f"{SUBJECT_PREFIX}.{site}", payload)
        await connection.close()

    asyncio.run(run())


def nats_backlog(url: str, sites: list[str]) -> int | None:
    """Messages not yet delivered or not yet acknowledged, over every site's consumer.

    None while some site has no consumer yet: its detector has not started.
    """

    async def run() -> int | None:
        connection = await nats.connect(url)
        js = connection.jetstream()
        total = 0
        try:
            for site in sites:
                info = await js.consumer_info(STREAM, f"detector-{site}")
                total += info.num_pending + info.num_ack_pending
        except NotFoundError:
            return None
        finally:
            await connection.close()
        return total

    return asyncio.run(run())


class TcpProxy:
    """A loopback TCP forwarder the test can cut (dropping every connection) and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Drop every connection and refuse new ones until restore()."""
        self._open.clear()
        with self._lock:
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()

    def restore(self) -> None:
        """Forward connections again."""
        self._open.set()

    def close(self) -> None:
        """Stop listening and drop everything."""
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                _shut(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _shut(client)
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers: Mapping[socket.socket, socket.socket] = {client: upstream, upstream: client}
        try:
            while self._open.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._sockets.discard(client)
                self._sockets.discard(upstream)
            _shut(client)
            _shut(upstream)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
