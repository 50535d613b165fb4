"""Telemetry sender for bench/load.py: columnar batches paced at a target rate, in its own process.

    .venv/bin/python bench/load_telemetry.py URL TOKEN RATE SECONDS SERIES_JSON

SERIES_JSON is a list of [site, asset, metric, unit, level]. Prints one JSON object of what
was sent, accepted and refused when done. Run by bench/load.py; not meant to be run by hand.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import Counter

import httpx
import orjson

BATCH = 5_000  # samples per request: one series, well under the 100,000-item and 1 MB limits
IN_FLIGHT = 4  # requests outstanding at once; beyond this the sender waits for the server
PERIOD = 60.0  # seconds of the slow swing on every series: smooth, so no rule fires


class Sender:
    """Sends the series round-robin, each with its own clock so timestamps only move forward."""

    def __init__(self, url: str, token: str, rate: float, series: list[list[object]]) -> None:
        self.url, self.rate, self.series = f"{url}/api/v1/telemetry", rate, series
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.step = len(series) / rate  # seconds between two samples of one series
        self.clocks = [time.time() for _ in series]
        self.batches = 0
        self.sent = self.accepted = self.opened = 0
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []

    def body(self, index: int) -> bytes:
        """The next batch of one series: timestamps on from its clock, values on a slow swing."""
        site, asset, metric, unit, level = self.series[index]
        start, step = self.clocks[index], self.step
        stamps = [start + i * step for i in range(BATCH)]
        self.clocks[index] = start + BATCH * step
        swing = 2 * math.pi / PERIOD
        values = [level * (1 + 0.002 * math.sin(t * swing)) for t in stamps]  # type: ignore[operator]
        data = {"site": site, "asset": asset, "metric": metric, "unit": unit}
        return orjson.dumps({**data, "timestamps": stamps, "values": values})

    async def worker(self, client: httpx.AsyncClient, began: float, until: float) -> None:
        """Send batches on the pace of ``rate``, or as fast as the server answers if slower."""
        while True:
            due = began + self.batches * BATCH / self.rate
            if due >= until or time.perf_counter() >= until:
                return
            index = self.batches % len(self.series)
            self.batches += 1
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = self.body(index)
            sent = time.perf_counter()
            try:
                response = await client.post(self.url, content=body, headers=self.headers)
            except httpx.HTTPError as exc:
                self.statuses[type(exc).__name__] += 1
                continue
            self.latencies.append(time.perf_counter() - sent)
            self.sent += BATCH
            self.statuses[str(response.status_code)] += 1
            if response.status_code == 200:
                result = response.json()
                self.accepted += result["accepted"]
                self.opened += len(result["incidents_opened"])


async def run(
    url: str, token: str, rate: float, seconds: float, series: list[list[object]]
) -> None:
    """Send for ``seconds`` and print the outcome as JSON."""
    sender = Sender(url, token, rate, series)
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        began = time.perf_counter()
        until = began + seconds
        await asyncio.gather(*(sender.worker(client, began, until) for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - began
    latencies = sorted(sender.latencies) or [0.0]
    report = {
        "offered": rate,
        "sent": sender.sent,
        "accepted": sender.accepted,
        "seconds": elapsed,
        "statuses": dict(sender.statuses),
        "opened": sender.opened,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }
    print(orjson.dumps(report).decode())


if __name__ == "__main__":
    url, token, rate, seconds, series = sys.argv[1:6]
    asyncio.run(run(url, token, float(rate), float(seconds), orjson.loads(series)))
