"""Load: 50 responders working incidents while telemetry streams in, on SQLite and PostgreSQL.

Run from a clone with the project installed:

    .venv/bin/python bench/load.py            # 30 s phases, 6-9 minutes
    .venv/bin/python bench/load.py --quick    # 10 s phases

A real `coherence serve` on the sample facility takes 50 responders (asyncio, one HTTP client
each) listing, reading, acknowledging, noting, completing tasks and reading dashboard pages,
while a separate process (bench/load_telemetry.py) streams telemetry into POST
/api/v1/telemetry: HTTP, not NATS, as the question is how one server answers responders while
it takes telemetry. Phases: responders alone (the baseline); with telemetry offered at the
target rate; with telemetry at half the rate the server reached. Figures vary with the
machine; nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from coherence.access import service as access_service
from coherence.clock import SystemClock
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.detection.simulator import PROFILES

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET = 100_000  # telemetry samples per second, the figure issue 10 sets
RESPONDERS = 50  # the figure
THINK = 1.0  # mean seconds a responder waits between calls: about 50 calls/s offered in all
# Northbridge staff with incident roles: they may read and record on every incident below.
PEOPLE = [
    "amara-osei",
    "grete-hansen",
    "helen-marsh",
    "jonas-veldhuis",
    "kwame-asante",
    "lucia-ferreira",
    "marcus-lindqvist",
    "oskar-nilsen",
    "priya-raman",
    "sofia-brandt",
    "tomasz-kowal",
]
SENDER = "telemetry-gateway"
CASES = (
    ("fridge-1", "dilution-refrigerator-warm-up"),
    ("laser-729", "laser-lock-loss"),
    ("ion-vacuum", "ion-trap-vacuum-loss"),
    ("compressor-1", "pulse-tube-compressor-fault"),
    ("qpu-1", "qubit-decoherence"),
    ("ion-magnet", "magnet-quench"),
    ("helium-store", "oxygen-deficiency-alarm"),
)
# How often each call comes up in a responder's work, per 100 calls.
MIX = {
    "list": 20,
    "show": 18,
    "timeline": 15,
    "page": 15,
    "note": 15,
    "task": 10,
    "ack": 4,
    "open": 3,
}
SERVER_ENV = {
    # The bench measures the server, not its abuse limits: 50 sign-ins come from one address.
    "COHERENCE_INTAKE_REQUESTS_PER_SECOND": "0",
    "COHERENCE_LOGIN_ATTEMPTS_PER_MINUTE": "0",
}
BENCH = Path(__file__).resolve().parent
BATCH = 5_000  # samples per telemetry request, as bench/load_telemetry.py sends them
WARM_UP = 3.0  # seconds of responder work before the first phase, not counted


@dataclass
class Work:
    """What the responders share: incidents open, which still want an ack, their tasks."""

    incidents: list[str] = field(default_factory=list)
    unacked: set[str] = field(default_factory=set)
    tasks: dict[int, str] = field(default_factory=dict)
    opened: int = 0

    def add(self, incident: dict[str, object]) -> None:
        """Take in an incident as the API returned it."""
        ref = str(incident["reference"])
        self.incidents.append(ref)
        if incident["status"] == "detected":
            self.unacked.add(ref)
        for task in incident["tasks"]:  # type: ignore[attr-defined]
            # Those tasks are done through a change record, not by a responder ticking them off.
            if not task["requires_change_record"]:
                self.tasks[task["id"]] = task["status"]


@dataclass
class Calls:
    """Latency and outcome of every call, by kind."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    conflicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class Server:
    """`coherence init --sample` into a fresh database, then `coherence serve` on it."""

    def __init__(self, label: str, folder: Path, postgres: str = "") -> None:
        self.label, self.folder, self._postgres = label, folder, postgres
        self._schema = f"bench_{uuid.uuid4().hex[:10]}"
        self.url = f"http://127.0.0.1:{_free_port()}"
        database = f"sqlite:///{folder / 'coherence.db'}"
        if postgres:
            self._admin(f'CREATE SCHEMA "{self._schema}"')
            # In the URL, not connect_args, so the server process lands in the same schema.
            database = f"{postgres}?options=-csearch_path%3D{self._schema}"
        self.database = database
        self.env = {
            **os.environ,
            **SERVER_ENV,
            "COHERENCE_DATA_DIR": str(folder),
            "COHERENCE_DATABASE_URL": database,
            "COHERENCE_PORT": self.url.rsplit(":", 1)[1],
        }
        self.log = folder / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _admin(self, statement: str) -> None:
        engine = make_engine(self._postgres)
        with engine.begin() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def start(self) -> dict[str, str]:
        """Initialise, issue a token for each person, serve; return the tokens by person."""
        command = [sys.executable, "-m", "coherence", "init", "--sample"]
        subprocess.run(command, env=self.env, cwd=self.folder, check=True, capture_output=True)  # noqa: S603
        engine = make_engine(self.database)
        with session_scope(make_session_factory(engine)) as session:
            tokens = {
                person: access_service.create_token(
                    session, clock=SystemClock(), person_key=person, name="load", actor="bench"
                )[1]
                for person in (*PEOPLE, SENDER)
            }
        engine.dispose()
        command = [sys.executable, "-m", "coherence", "serve"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
                command, env=self.env, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"coherence serve exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return tokens
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit(f"coherence serve did not answer in 60 s; see {self.log}")

    def cpu_seconds(self) -> float:
        """User and system CPU the server has used so far."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """The server's resident memory, in MB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def problems(self) -> dict[str, int]:
        """Counts of tracebacks and lock errors the server logged."""
        log = self.log.read_text(errors="replace")
        needles = ("Traceback", "database is locked", "deadlock detected")
        return {needle: log.count(needle) for needle in needles if needle in log}

    def stop(self) -> None:
        """Stop the server and drop the PostgreSQL schema."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._postgres:
            self._admin(f'DROP SCHEMA "{self._schema}" CASCADE')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Responder:
    """One person at a keyboard: a client of their own, signed in to the dashboard too."""

    def __init__(self, number: int, url: str, token: str, work: Work, think: float) -> None:
        self.number, self.work, self.think = number, work, think
        self.rng = random.Random(number)  # noqa: S311 - pacing, not secrets
        self.client = httpx.AsyncClient(
            base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=60
        )
        self.token = token

    async def sign_in(self) -> None:
        """Open a dashboard session (the cookie stays in this client)."""
        response = await self.client.get("/login", params={"token": self.token})
        if response.status_code != 303:
            raise SystemExit(f"dashboard sign-in failed: {response.status_code} {response.text}")

    async def run(self, calls: Calls, until: float) -> None:
        """Call, think, call, until ``until``."""
        kinds, weights = list(MIX), list(MIX.values())
        while True:
            pause = self.rng.expovariate(1 / self.think)
            await asyncio.sleep(min(pause, max(0.0, until - time.perf_counter())))
            if time.perf_counter() >= until:
                return
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "ack" and not self.work.unacked:
                kind = "show"  # nothing is waiting for an acknowledgement: read one instead
            method, path, body = self.request(kind)
            began = time.perf_counter()
            try:
                response = await self.client.request(method, path, json=body)
            except httpx.HTTPError as exc:
                calls.errors[kind].append(type(exc).__name__)
                continue
            calls.seconds[kind].append(time.perf_counter() - began)
            self.record(kind, response, calls)

    def request(self, kind: str) -> tuple[str, str, object]:
        """The call a responder makes for ``kind``, on an incident or task of the shared work."""
        work, rng = self.work, self.rng
        ref = rng.choice(work.incidents)
        if kind == "ack":
            ref = rng.choice(sorted(work.unacked))
            return "POST", f"/api/v1/incidents/{ref}/ack", None
        if kind == "task":
            task = rng.choice(list(work.tasks))
            status = "open" if work.tasks[task] == "done" else "done"
            return "PATCH", f"/api/v1/tasks/{task}", {"status": status, "note": "load bench"}
        if kind == "open":
            asset, playbook = rng.choice(CASES)
            return "POST", "/api/v1/incidents", {"asset": asset, "playbook": playbook}
        if kind == "note":
            note = {"text": f"Responder {self.number}: readings checked, holding."}
            return "POST", f"/api/v1/incidents/{ref}/notes", note
        paths = {
            "list": "/api/v1/incidents?limit=50",
            "show": f"/api/v1/incidents/{ref}",
            "timeline": f"/api/v1/incidents/{ref}/timeline",
            "page": f"/incidents/{ref}",
        }
        return "GET", paths[kind], None

    def record(self, kind: str, response: httpx.Response, calls: Calls) -> None:
        """Count the outcome and learn from it what changed in the shared work."""
        status = response.status_code
        if kind == "ack" and status in (200, 409):
            self.work.unacked.discard(response.url.path.split("/")[-2])
        if status == 409:
            # Another responder got there first (an ack, a task): a right answer, counted apart.
            calls.conflicts[kind] += 1
        elif status >= 400:
            calls.errors[kind].append(str(status))
        elif kind == "open":
            self.work.add(response.json())
            self.work.opened += 1
        elif kind == "task":
            task = response.json()
            self.work.tasks[task["id"]] = task["status"]


async def open_incidents(url: str, token: str) -> Work:
    """Open one incident per case as the incident commander, so there is work from the start."""
    work = Work()
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        for asset, playbook in CASES:
            response = await client.post(
                "/api/v1/incidents", json={"asset": asset, "playbook": playbook}
            )
            response.raise_for_status()
            work.add(response.json())
    return work


def telemetry_series() -> list[list[object]]:
    """Every numeric series the simulator knows for the sample facility's assets."""
    assets = {
        "dilution_refrigerator": [("sc-lab", "fridge-1"), ("sc-lab", "fridge-2")],
        "pulse_tube_compressor": [("sc-lab", "compressor-1"), ("sc-lab", "compressor-2")],
        "laser_system": [("ion-lab", "laser-397"), ("ion-lab", "laser-729")],
        "vacuum_system": [("ion-lab", "ion-vacuum")],
        "superconducting_magnet": [("ion-lab", "ion-magnet")],
        "qkd_link": [("harbour-dc", "qkd-link-metro")],
        "helium_supply": [("sc-lab", "helium-store")],
    }
    return [
        [site, asset, metric, signal.unit, signal.level]
        for kind, where in assets.items()
        for site, asset in where
        for metric, signal in PROFILES[kind].items()
        if not isinstance(signal.level, str)
    ]


def start_telemetry(url: str, token: str, rate: float, seconds: float) -> subprocess.Popen[bytes]:
    """Start the sender in its own process, so it never takes the responders' CPU time."""
    series = orjson.dumps(telemetry_series()).decode()
    command = [sys.executable, str(BENCH / "load_telemetry.py"), url, token, str(rate)]
    return subprocess.Popen([*command, str(seconds), series], stdout=subprocess.PIPE)  # noqa: S603


async def phase(
    server: Server,
    responders: list[Responder],
    seconds: float,
    label: str,
    telemetry: tuple[str, float] | None = None,
) -> dict[str, object] | None:
    """Run the responders for ``seconds``, with telemetry (token, rate) alongside if given."""
    sender = start_telemetry(server.url, *telemetry, seconds) if telemetry else None
    calls, cpu = Calls(), server.cpu_seconds()
    began = time.perf_counter()
    await asyncio.gather(*(r.run(calls, began + seconds) for r in responders))
    elapsed = time.perf_counter() - began
    sent = None
    if sender is not None:
        out, _ = sender.communicate()
        sent = orjson.loads(out)
    busy = (server.cpu_seconds() - cpu) / elapsed * 100
    print(
        f"  {label}: {elapsed:.0f} s, server CPU {busy:.0f} % of one core, RSS "
        f"{server.rss_mb():,.0f} MB"
    )
    print_calls(calls, elapsed)
    if sent is not None:
        print_telemetry(sent)
    return sent


def print_calls(calls: Calls, elapsed: float) -> None:
    """One row per kind of call, then all calls together."""
    print(f"    {'call':<10} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'409':>5}")
    everything: list[float] = []
    for kind in MIX:
        seconds = sorted(calls.seconds[kind])
        everything.extend(seconds)
        errors = calls.errors[kind]
        print(f"    {kind:<10} {_row(seconds, len(errors), calls.conflicts[kind])}")
        if errors:
            print(f"      errors: {', '.join(sorted(set(errors)))}")
    errors = sum(len(e) for e in calls.errors.values())
    conflicts = sum(calls.conflicts.values())
    print(
        f"    {'all':<10} {_row(sorted(everything), errors, conflicts)}"
        f"   ({len(everything) / elapsed:.0f} calls/s)"
    )


def _row(seconds: list[float], errors: int, conflicts: int) -> str:
    if not seconds:
        return f"{0:>6} {'-':>8} {'-':>8} {errors:>7} {conflicts:>5}"
    p50 = seconds[len(seconds) // 2] * 1000
    p99 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))] * 1000
    return f"{len(seconds):>6} {p50:>8.1f} {p99:>8.1f} {errors:>7} {conflicts:>5}"


def print_telemetry(sent: dict[str, Any]) -> None:
    """What the sender offered, what the server accepted, and how its requests fared."""
    rate = sent["accepted"] / sent["seconds"]
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(sent["statuses"].items()))
    print(
        f"    telemetry: offered {sent['offered']:,.0f} samples/s, accepted {rate:,.0f} samples/s"
        f" ({sent['accepted']:,} of {sent['sent']:,} sent); requests of {BATCH:,} samples:"
        f" p50 {sent['p50'] * 1000:.0f} ms, p99 {sent['p99'] * 1000:.0f} ms;"
        f" HTTP statuses {{{statuses}}}; incidents it opened: {sent['opened']}"
    )


async def bench_server(server: Server, args: argparse.Namespace, seconds: float) -> None:
    """Start the server, open the first incidents, and run the three phases on it."""
    tokens = server.start()
    work = await open_incidents(server.url, tokens[PEOPLE[0]])
    responders = [
        Responder(n, server.url, tokens[PEOPLE[n % len(PEOPLE)]], work, args.think)
        for n in range(args.responders)
    ]
    try:
        await asyncio.gather(*(r.sign_in() for r in responders))
        print(f"{server.label}: {len(work.incidents)} incidents open, {args.responders} responders")
        calls = Calls()
        await asyncio.gather(*(r.run(calls, time.perf_counter() + WARM_UP) for r in responders))
        await phase(server, responders, seconds, "(a) baseline: responders alone")
        sent = await phase(
            server,
            responders,
            seconds,
            f"(b) responders + telemetry offered at {args.target:,.0f} samples/s",
            (tokens[SENDER], args.target),
        )
        reached = sent["accepted"] / sent["seconds"] if sent else 0.0
        half = max(1_000.0, round(reached / 2, -3))
        await phase(
            server,
            responders,
            seconds,
            f"(c) responders + telemetry at {half:,.0f} samples/s (half of what (b) reached)",
            (tokens[SENDER], half),
        )
        print(f"  incidents opened by responders: {work.opened}")
        problems = server.problems()
        if problems:
            handle, kept = tempfile.mkstemp(prefix=f"coherence-load-{server.label}-", suffix=".log")
            os.write(handle, server.log.read_bytes())
            os.close(handle)
            print(f"  server log: {problems}; kept at {kept}")
    finally:
        await asyncio.gather(*(r.client.aclose() for r in responders))


def main() -> None:
    """Parse the options and run the phases on SQLite, then PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per phase (30)")
    parser.add_argument("--quick", action="store_true", help="10 s phases, to try it fast")
    parser.add_argument("--target", type=float, default=TARGET, help="samples/s (100,000)")
    parser.add_argument("--responders", type=int, default=RESPONDERS, help="how many (50)")
    parser.add_argument("--think", type=float, default=THINK, help="mean s between calls (1)")
    parser.add_argument("--postgres", default=POSTGRES, help="PostgreSQL URL; '' to skip it")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"Server environment: {' '.join(f'{k}={v}' for k, v in SERVER_ENV.items())}")
    print(
        f"Responders: {args.responders}, one client each, mean think time {args.think:.1f} s "
        f"(about {args.responders / args.think:.0f} calls/s offered); mix per 100 calls: "
        + ", ".join(f"{k} {v}" for k, v in MIX.items())
    )
    for label, postgres in (("SQLite", ""), ("PostgreSQL", args.postgres)):
        if label == "PostgreSQL" and not postgres:
            continue
        with tempfile.TemporaryDirectory() as folder:
            try:
                server = Server(label, Path(folder), postgres)
            except Exception as exc:  # optional: say why, carry on
                print(f"{label} skipped: {type(exc).__name__}: {str(exc)[:150]}")
                continue
            try:
                asyncio.run(bench_server(server, args, seconds))
            finally:
                server.stop()


if __name__ == "__main__":
    main()
