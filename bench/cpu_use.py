"""CPU time that groups of processes spend over a measured window, read from /proc (Linux).

Benchmarks on a small machine share its cores between the system measured, the load
generator and the receiver; CPU per delivered item says which of them a rate runs out of.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Pids = Callable[[], list[int]]


def processes_named(name: str) -> Pids:
    """Every running process whose command name is ``name`` (e.g. the database server's)."""

    def find() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == name:
                        found.append(int(entry.name))
                except OSError:
                    continue
        return found

    return find


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds ``pid`` has used; 0 if it is gone or unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU used by each named group of processes between ``start()`` and ``stop()``."""

    def __init__(self, groups: Mapping[str, Pids]) -> None:
        self._groups = groups
        self._before: dict[int, float] = {}
        self._started = 0.0

    @property
    def available(self) -> bool:
        """Whether this system exposes per-process CPU time the way Linux does."""
        return Path("/proc/self/stat").exists()

    def start(self) -> None:
        """Note every group's CPU so far, and the time."""
        self._before = {pid: cpu_seconds(pid) for pids in self._groups.values() for pid in pids()}
        self._started = time.monotonic()

    def stop(self) -> Usage:
        """Return what each group used since ``start()``.

        A process started in between counts from zero; one that exited is not counted.
        """
        seconds = {
            label: sum(max(0.0, cpu_seconds(p) - self._before.get(p, 0.0)) for p in pids())
            for label, pids in self._groups.items()
        }
        return Usage(seconds, time.monotonic() - self._started)


@dataclass(frozen=True)
class Usage:
    """CPU seconds each group used over ``elapsed`` seconds of wall time."""

    seconds: Mapping[str, float]
    elapsed: float

    def describe(self, items: int) -> str:
        """Cores each group kept busy and its CPU per item; what the machine had left."""
        if items <= 0 or self.elapsed <= 0 or not self.seconds:
            return ""
        parts = ", ".join(
            f"{label} {used / self.elapsed:.2f} ({used / items * 1e6:,.0f} µs/page)"
            for label, used in self.seconds.items()
        )
        busy = sum(self.seconds.values()) / self.elapsed
        return f"CPU cores busy: {parts}; {busy:.2f} of {os.cpu_count() or 1}"
