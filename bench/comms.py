"""Notification delivery: Coherence's outbox dispatcher beside Prometheus Alertmanager.

Run from a clone with the test extras installed, and Alertmanager from Debian
(``apt-get install prometheus-alertmanager``):

    .venv/bin/python bench/comms.py            # 30 s windows, 12-15 minutes
    .venv/bin/python bench/comms.py --quick    # 5 s windows

Both systems deliver to one local webhook receiver, a separate process measured by itself
first. For each, the offered rate is doubled until a window shows loss, a duplicate, or a
notification arriving more than 5 s after the window (a sixth of a shorter window); then
latency is measured at a rate both sustain, and Coherence's failover from a dead channel to a
live one. Figures vary with the
machine; nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import orjson
from cpu_use import CpuMeter, Pids, Usage, processes_named
from sqlalchemy import Engine, func, select, text

from coherence.catalog.models import Person
from coherence.clock import SystemClock
from coherence.comms import service
from coherence.comms.models import DeliveryAttempt
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.migrations import runner
from coherence.settings import Settings

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RATES = (50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600)
CHUNK = 64  # alerts per request, as Prometheus batches them; outbox rows per transaction
TICK = 0.01  # the sender wakes at most this often and sends whatever is due
GRACE = 5.0  # seconds after the window by which everything offered must have arrived
GRACE_SHARE = 1 / 6  # ...or this share of a shorter window, so --quick is as strict as 30 s
SECRET = "bench-secret-0123456789"
BODY = "INC-00001: bench page\nAcknowledge: coherence incident ack INC-00001\n"
FAILOVER_TIMEOUT = 1.0
# One route, no grouping (every alert is its own group, sent at once), nothing repeated.
ALERTMANAGER_CONFIG = """\
route: {{receiver: bench, group_by: ['...'], group_wait: 0s, group_interval: 1s,
        repeat_interval: 24h}}
receivers:
  - {{name: bench, webhook_configs: [{{url: "{hook}", send_resolved: false, max_alerts: 0}}]}}
"""


@dataclass
class Window:
    """What one system did with one offered rate over one window."""

    rate: int
    offered: int
    accepted: int
    received: int
    duplicates: int
    lag: float  # seconds the sender ended behind its schedule
    latencies: list[float]  # sorted seconds, accepted -> received
    attempts: Counter[str] = field(default_factory=Counter)
    cpu: Usage | None = None  # what each group of processes used over the window

    @property
    def problem(self) -> str:
        """Why the window is not clean, or "" if it is."""
        if self.lag > 1.0:
            return f"could not take the rate (sender {self.lag:.1f} s behind)"
        if self.accepted < self.offered:
            return f"refused {self.offered - self.accepted:,}"
        if self.received < self.offered:
            return f"lost or late {self.offered - self.received:,}"
        return f"{self.duplicates:,} duplicates" if self.duplicates else ""

    def percentiles(self) -> tuple[float, float]:
        """Return p50 and p99 latency in milliseconds."""
        if not self.latencies:
            return float("nan"), float("nan")
        count = len(self.latencies)
        return self.latencies[count // 2] * 1e3, self.latencies[int(count * 0.99)] * 1e3


@dataclass
class Tuning:
    """How Coherence's dispatchers run: each a `coherence worker run` process."""

    workers: int
    concurrency: int
    batch: int
    interval: float

    def __str__(self) -> str:
        return (
            f"{self.workers} `coherence worker run` process(es), batch {self.batch}, concurrency "
            f"{self.concurrency}, a pass every {self.interval:g} s"
        )


# What `coherence worker run` does out of the box: one worker, the settings' defaults.
SHIPPED = Tuning(
    1,
    Settings.model_fields["dispatch_concurrency"].default,
    Settings.model_fields["dispatch_batch"].default,
    Settings.model_fields["worker_interval_seconds"].default,
)


def serve_receiver(port: int) -> None:
    """Record each notification's id and receive time; ``GET /drain`` hands them over."""
    records: list[tuple[str, str, float]] = []

    def record(path: str, body: bytes, now: float) -> None:
        if path == "/am":
            records.extend(("am", a["labels"]["id"], now) for a in orjson.loads(body)["alerts"])
        elif path in ("/co", "/ceiling"):
            records.append((path[1:], orjson.loads(body)["subject"].rpartition(" ")[2], now))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                path = head.split(" ", 2)[1]
                length = head.partition("content-length:")[2].split("\r\n", 1)[0]
                body = await reader.readexactly(int(length or 0))
                status, out = b"200 OK", b""
                if path == "/drain":
                    out = orjson.dumps(records)
                    records.clear()
                else:
                    try:
                        record(path, body, time.time())
                    except (ValueError, LookupError, TypeError, AttributeError):
                        status = b"400 Bad Request"
                writer.write(
                    b"HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n%s" % (status, len(out), out)
                )
                await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Receiver:
    """The receiver process, seen from the benchmark."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(  # noqa: S603 - this very file, this interpreter
            [sys.executable, __file__, "--receiver", str(self.port)]
        )
        self._client = httpx.Client(base_url=self.url, timeout=30)
        wait_until(lambda: self._client.get("/drain").is_success, self._process, "receiver")

    @property
    def pid(self) -> int:
        """The receiver process's id, for CPU accounting."""
        return self._process.pid

    def drain(self) -> list[tuple[str, str, float]]:
        """Return and forget everything received since the last drain."""
        return [(kind, key, at) for kind, key, at in self._client.get("/drain").json()]

    def close(self) -> None:
        """Stop the receiver process."""
        self._client.close()
        stop(self._process)


def receiver_ceiling(receiver: Receiver, seconds: float = 3.0, connections: int = 16) -> float:
    """Webhooks per second the receiver takes from keep-alive clients, nothing else running."""
    body = orjson.dumps({"message_id": "k", "to": "a", "subject": "bench 0", "text": BODY})
    head = b"POST /ceiling HTTP/1.1\r\nHost: b\r\nContent-Length: %d\r\n\r\n" % len(body)
    request = head + body

    async def client(deadline: float) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
        count = 0
        while time.perf_counter() < deadline:
            writer.write(request)
            await reader.readuntil(b"\r\n\r\n")
            count += 1
        writer.close()
        return count

    async def clients() -> int:
        deadline = time.perf_counter() + seconds
        return sum(await asyncio.gather(*(client(deadline) for _ in range(connections))))

    began = time.perf_counter()
    total = asyncio.run(clients())
    rate = total / (time.perf_counter() - began)
    receiver.drain()
    return rate


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], name: str) -> None:
    """Poll ``ready`` until it holds; fail if ``process`` exits or 20 s pass."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if ready():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not become ready in 20 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a child process, killing it if it lingers."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def grace(window: float) -> float:
    """Seconds after ``window`` by which everything offered in it must have arrived."""
    return min(GRACE, window * GRACE_SHARE)


def measure(
    rate: int,
    window: float,
    send: Callable[[list[str]], bool],
    sink: Receiver,
    processes: Mapping[str, Pids],
) -> Window:
    """Offer ``rate`` notifications a second for ``window`` seconds, then collect arrivals,
    counting the CPU each group of ``processes`` (and the receiver and this sender) used."""
    sink.drain()
    meter = CpuMeter({**processes, "receiver": lambda: [sink.pid], "sender": lambda: [os.getpid()]})
    meter.start()
    tag = uuid.uuid4().hex[:6]
    ids = [f"{tag}.{n}" for n in range(max(1, round(rate * window)))]
    accepted: dict[str, float] = {}
    began, sent = time.time(), 0
    while sent < len(ids) and time.time() - began - sent / rate < GRACE:
        due = min(len(ids), int(rate * (time.time() - began)) + 1)
        while sent < due:
            chunk = ids[sent : min(due, sent + CHUNK)]
            if send(chunk):
                accepted.update(dict.fromkeys(chunk, time.time()))
            sent += len(chunk)
        time.sleep(max(TICK, began + sent / rate - time.time()))
    lag, deadline = time.time() - began - sent / rate, began + window + grace(window)
    first: dict[str, float] = {}
    duplicates, settle = 0, 2
    while settle:  # once all have arrived (or time is up), look once more for duplicates
        for _, key, at in sink.drain():
            if not key.startswith(tag):
                continue
            if key in first:
                duplicates += 1
            elif at <= deadline:
                first[key] = at
        if len(first) == len(ids) or time.time() > deadline:
            settle -= 1
        time.sleep(0.25)
    used = meter.stop() if meter.available else None
    latencies = sorted(first[k] - accepted[k] for k in first if k in accepted)
    return Window(rate, len(ids), len(accepted), len(first), duplicates, lag, latencies, cpu=used)


@contextlib.contextmanager
def alertmanager(folder: Path, hook: str) -> Iterator[tuple[str, int]]:
    """Start a fresh Alertmanager that sends every alert, ungrouped, to ``hook``; yield its
    address and process id."""
    storage = folder / "alertmanager-data"
    shutil.rmtree(storage, ignore_errors=True)
    (folder / "alertmanager.yml").write_text(ALERTMANAGER_CONFIG.format(hook=hook))
    base, log = f"http://127.0.0.1:{free_port()}", (folder / "alertmanager.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
        [
            ALERTMANAGER,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--storage.path={storage}",
            f"--web.listen-address={base.removeprefix('http://')}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        wait_until(lambda: httpx.get(f"{base}/-/ready").is_success, process, ALERTMANAGER)
        yield base, process.pid
    finally:
        stop(process)
        log.close()


def alertmanager_window(folder: Path, sink: Receiver, rate: int, window: float) -> Window:
    """One window against a fresh Alertmanager: alerts posted in batches to its v2 API."""
    with (
        alertmanager(folder, f"{sink.url}/am") as (base, pid),
        httpx.Client(base_url=base) as client,
    ):

        def send(chunk: list[str]) -> bool:
            now = datetime.now(UTC)
            times = {"startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()}
            alerts = [{"labels": {"alertname": "bench", "id": n}, **times} for n in chunk]
            try:
                return client.post("/api/v2/alerts", json=alerts, timeout=10).status_code == 200
            except httpx.HTTPError:
                return False

        result = measure(rate, window, send, sink, {"Alertmanager": lambda: [pid]})
    log = (folder / "alertmanager.log").read_text()
    result.attempts["alertmanager failed"] = log.count("Notify for alerts failed")
    return result


class Database:
    """A migrated database handed out empty for each window: SQLite file or PostgreSQL schema."""

    def __init__(self, label: str, folder: Path, postgres: str = "") -> None:
        self.label, self.folder, self._postgres = label, folder, postgres
        self._schema = f"bench_{uuid.uuid4().hex[:10]}"
        if postgres:
            self._admin(f'CREATE SCHEMA "{self._schema}"')
        engine = self._engine(folder / "template.db")
        runner.upgrade(engine)
        engine.dispose()

    def _engine(self, path: Path) -> Engine:
        if not self._postgres:
            return make_engine(f"sqlite:///{path}")
        # In the URL, not connect_args, so the worker processes land in the same schema.
        return make_engine(f"{self._postgres}?options=-csearch_path%3D{self._schema}")

    def _admin(self, statement: str) -> None:
        engine = make_engine(self._postgres)
        with engine.begin() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def fresh(self) -> Engine:
        """Return an engine on an empty, migrated database."""
        path = self.folder / "window.db"
        if not self._postgres:
            for old in self.folder.glob("window.db*"):
                old.unlink()
            shutil.copy(self.folder / "template.db", path)
            return self._engine(path)
        engine = self._engine(path)
        with engine.begin() as connection:
            query = text("select tablename from pg_tables where schemaname = :s")
            tables = connection.execute(query, {"s": self._schema}).scalars()
            names = ", ".join(f'"{t}"' for t in tables if t != "alembic_version")
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return engine

    def close(self) -> None:
        """Drop the PostgreSQL schema."""
        if self._postgres:
            self._admin(f'DROP SCHEMA "{self._schema}" CASCADE')


def coherence_window(
    db: Database, sink: Receiver, rate: int, window: float, tuning: Tuning, dead: str = ""
) -> Window:
    """One window: outbox rows committed in batches while `coherence worker run` delivers them.

    With ``dead``, each person's first contact is a webhook at that URL and the second a live
    one, named ``chat``.
    """
    engine = db.fresh()
    factory, clock = make_session_factory(engine), SystemClock()
    name = "chat" if dead else "webhook"
    live = {"type": "webhook", "url": f"{sink.url}/co", "secret": SECRET, "timeout_seconds": 5}
    channels: dict[str, dict[str, object]] = {name: live}
    if dead:
        channels["webhook"] = {**live, "url": dead, "timeout_seconds": FAILOVER_TIMEOUT}
    contacts = [{"channel": c, "address": "bench"} for c in sorted(channels, reverse=True)]
    person = Person(key="bench", name="Bench", contacts=contacts)
    workers = start_workers(db, engine, tuning, channels)

    def send(chunk: list[str]) -> bool:
        pages = [service.Page(person, f"bench {n}", BODY, "bench") for n in chunk]
        try:
            with session_scope(factory) as session:
                service.enqueue_many(session, clock=clock, pages=pages, actor="bench")
        except Exception:  # a refused batch is what the window measures, not a crash
            return False
        return True

    processes: dict[str, Pids] = {"workers": lambda: [w.pid for w in workers]}
    if engine.url.get_backend_name() == "postgresql":
        processes["PostgreSQL"] = processes_named("postgres")
    try:
        result = measure(rate, window, send, sink, processes)
    finally:
        for worker in workers:
            stop(worker)
    pairs = (DeliveryAttempt.channel, DeliveryAttempt.outcome)
    with session_scope(factory) as session:
        rows = session.execute(select(*pairs, func.count()).group_by(*pairs))
        result.attempts = Counter({f"{c} {o}": n for c, o, n in rows})
    engine.dispose()
    return result


def start_workers(
    db: Database, engine: Engine, tuning: Tuning, channels: Mapping[str, object]
) -> list[subprocess.Popen[bytes]]:
    """Start ``tuning.workers`` `coherence worker run` processes and wait until each is up."""
    folder = Path(tempfile.mkdtemp(dir=db.folder))
    (folder / "channels.yaml").write_bytes(orjson.dumps({"channels": channels}))
    environment = {
        **os.environ,
        "COHERENCE_DATA_DIR": str(folder),
        "COHERENCE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "COHERENCE_CHANNELS_FILE": str(folder / "channels.yaml"),
        "COHERENCE_DISPATCH_BATCH": str(tuning.batch),
        "COHERENCE_DISPATCH_CONCURRENCY": str(tuning.concurrency),
        "COHERENCE_WORKER_INTERVAL_SECONDS": str(tuning.interval),
    }
    command = [str(Path(sys.executable).with_name("coherence")), "worker", "run"]
    logs = [folder / f"worker-{n}.log" for n in range(tuning.workers)]
    workers = []
    for log in logs:
        with log.open("wb") as output:
            workers.append(
                subprocess.Popen(command, env=environment, stderr=output)  # noqa: S603
            )
    for worker, log in zip(workers, logs, strict=True):
        wait_until(lambda log=log: b"worker running" in log.read_bytes(), worker, "worker")
    return workers


def show(label: str, result: Window) -> str:
    """Print one window as a row; return "p50 / p99" for the summary, starred if not clean."""
    p50, p99 = result.percentiles()
    print(
        f"  {label:<26}{result.rate:>7,}{result.offered:>9,}{result.received:>9,}"
        f"{result.duplicates:>5}{p50:>9.1f}{p99:>9.1f}  {result.problem or 'clean'}"
    )
    if result.cpu is not None and (cpu := result.cpu.describe(result.received)):
        print(f"    {cpu}")
    if failed := result.attempts["alertmanager failed"]:
        print(f"    Alertmanager logged {failed:,} failed notifications (timed out; it retries)")
    return f"{p50:.1f} / {p99:.1f}" + (" *" if result.problem else "")


def heading(title: str) -> None:
    """Print a section title and the column names of its rows."""
    print(f"\n{title}\n  {'':<26}{'rate/s':>7}{'offered':>9}{'received':>9}{'dup':>5}", end="")
    print(f"{'p50 ms':>9}{'p99 ms':>9}")


def clean_rates(
    dbs: list[Database], sink: Receiver, folder: Path, window: float, tuning: Tuning, am: str
) -> dict[str, int]:
    """Step each system's offered rate up until a window is not clean; return the last clean."""
    late = f"all in by +{grace(window):.3g} s"
    heading(f"Highest clean rate, {window:g} s window: no loss or duplicate, {late}")
    runs: dict[str, Callable[[int], Window]] = {
        d.label: partial(coherence_window, d, sink, window=window, tuning=tuning) for d in dbs
    }
    if am:
        runs[am] = partial(alertmanager_window, folder, sink, window=window)
    clean = {}
    for label, run in runs.items():
        clean[label] = 0
        for rate in RATES:
            result = run(rate)
            show(label, result)
            if result.problem:
                break
            clean[label] = rate
    share = window / (window + grace(window))
    print(f"  (so a system delivering {share:.0%} of the offered rate still passes a window)")
    return clean


def report(
    dbs: list[Database], sink: Receiver, folder: Path, window: float, tuning: Tuning
) -> None:
    """Measure and print every figure, then the summary side by side."""
    am = ""
    if Path(ALERTMANAGER).exists():
        out = subprocess.run([ALERTMANAGER, "--version"], capture_output=True, text=True)  # noqa: S603
        am = "Alertmanager " + (out.stdout + out.stderr).split("version ", 1)[-1].split(" ")[0]
    else:
        print(f"{ALERTMANAGER} is missing, rows skipped: apt-get install prometheus-alertmanager")
    print(f"Coherence: {tuning}; the sender commits {CHUNK} outbox rows a transaction")
    print(f"Alertmanager: group_by ['...'], group_wait 0s; sender posts {CHUNK} alerts a request")
    clean = clean_rates(dbs, sink, folder, window, tuning, am)
    common = max(10, min(clean[dbs[0].label], clean.get(am, RATES[-1])) // 2)
    heading(f"Latency at {common:,} /s: accepted (outbox commit, API 200 back) -> received")
    latency = {
        d.label: show(d.label, coherence_window(d, sink, common, window, tuning)) for d in dbs
    }
    if am:
        latency[am] = show(am, alertmanager_window(folder, sink, common, window))
        print("  (Alertmanager can deliver before its 200 reaches the sender: latencies near 0)")
    for d in dbs:
        label = f"{d.label.removeprefix('Coherence ')}, shipped defaults"
        show(label, coherence_window(d, sink, common, window, SHIPPED))
    print(f"  (shipped: {SHIPPED}; on SQLite a separate worker finds new pages at its")
    print("  next poll, on PostgreSQL the queuing commit wakes it through LISTEN/NOTIFY)")
    heading(f"Failover at {common:,} /s: 1st contact refuses connections, 2nd is live")
    failover = {}
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        for d in dbs:
            result = coherence_window(d, sink, common, window, tuning, dead=url)
            failover[d.label] = show(d.label, result)
            tried = result.attempts
            print(
                f"    dead channel: {tried['webhook refused']:,} attempts refused, "
                f"{tried['webhook unhealthy']:,} skipped as unhealthy"
            )
    print("  (after 3 failures in a row a dispatcher skips a channel for 30 s, so most pages")
    print(f"  never pay the dead channel's {FAILOVER_TIMEOUT:g} s timeout)")
    summary(clean, latency, failover, am, common)


def summary(
    clean: dict[str, int],
    latency: dict[str, str],
    failover: dict[str, str],
    am: str,
    common: int,
) -> None:
    """Print the headline figures side by side with their targets."""
    labels = [*failover, am or "Alertmanager"]
    ratio = {k: f"{clean[k] / clean[am]:.2f}" for k in failover if clean.get(am)}
    rows: list[tuple[str, Mapping[str, str], str]] = [
        ("highest clean rate /s", {k: f"{v:,}" for k, v in clean.items()}, ""),
        ("clean rate / Alertmanager's", ratio, ">= 2"),
        (f"p50 / p99 ms at {common:,} /s", latency, "Coherence p99 <= 100"),
        (f"failover p50 / p99 ms, {common:,} /s", failover, "p99 <= timeout + 100"),
    ]
    print("\nSummary" + " " * 28 + "".join(f"{k:>22}" for k in labels) + "  target")
    for title, cells, target in rows:
        line = "".join(f"{cells.get(k, 'n/a'):>22}" for k in labels)
        print(f"  {title:<33}{line}  {target}")
    print("  * measured in a window that was not clean: see its row above")


def main() -> None:
    """Parse the options and run the benchmark, cleaning up every process and file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--window", type=float, default=30.0, help="seconds per window (30)")
    parser.add_argument("--quick", action="store_true", help="5 s windows, to try it fast")
    parser.add_argument("--postgres", default=POSTGRES, help="PostgreSQL URL; '' to skip it")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--concurrency", type=int, default=4, help="sends at once, each (4)")
    parser.add_argument("--batch", type=int, default=100, help="messages leased a pass (100)")
    parser.add_argument("--interval", type=float, default=0.01, help="s between passes (0.01)")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        serve_receiver(args.receiver)
        return
    window = 5.0 if args.quick else args.window
    tuning = Tuning(args.workers, args.concurrency, args.batch, args.interval)
    print(f"Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as name:
        folder, dbs, sink = Path(name), [], Receiver()
        try:
            dbs.append(Database("Coherence SQLite", folder))
            if args.postgres:
                try:
                    dbs.append(Database("Coherence PostgreSQL", folder, args.postgres))
                except Exception as exc:  # optional: say why, carry on with SQLite
                    print(f"PostgreSQL skipped: {type(exc).__name__}: {str(exc)[:150]}")
            ceiling = f"{receiver_ceiling(sink):,.0f} /s"
            print(f"Receiver ceiling (own process, asyncio, 16 keep-alive clients): {ceiling}")
            report(dbs, sink, folder, window, tuning)
        finally:
            sink.close()
            for db in dbs:
                db.close()


if __name__ == "__main__":
    main()
