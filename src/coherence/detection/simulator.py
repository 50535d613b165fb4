"""A facility simulator: realistic telemetry for every asset, with faults injected by name.

Pure: given the assets and a moment it returns samples; the same seed gives the same run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from coherence.detection.samples import Sample

DAY = 86_400.0


@dataclass(frozen=True)
class Signal:
    """One metric's normal behaviour: level, relative noise, daily swing and slow drift."""

    unit: str
    level: float | str
    noise: float = 0.0
    daily: float = 0.0
    drift_per_day: float = 0.0


# What each kind of asset reports when healthy, from REFERENCE.md's typical values.
PROFILES: dict[str, dict[str, Signal]] = {
    "dilution_refrigerator": {
        "mxc_temperature_k": Signal("K", 0.010, noise=0.03, daily=0.0005),
        "still_temperature_k": Signal("K", 0.75, noise=0.01),
        "flange_4k_temperature_k": Signal("K", 3.5, noise=0.001),
        "flange_50k_temperature_k": Signal("K", 45.0, noise=0.001, daily=0.5),
    },
    "pulse_tube_compressor": {
        "compressor_state": Signal("state", "3"),
        "cooling_water_in_temperature_c": Signal("degC", 18.0, noise=0.01, daily=1.0),
        "cooling_water_out_temperature_c": Signal("degC", 30.0, noise=0.01, daily=1.0),
    },
    "laser_system": {
        "lock_error_signal_rms_v": Signal("V", 0.005, noise=0.1),
        "cavity_transmission_ratio": Signal("ratio", 0.9, noise=0.01),
        "piezo_range_used_ratio": Signal("ratio", 0.4, noise=0.005, drift_per_day=0.02),
        "wavemeter_deviation_mhz": Signal("MHz", 0.5, noise=0.2),
    },
    "vacuum_system": {
        "vacuum_pressure_mbar": Signal("mbar", 2e-11, noise=0.05),
        "ion_pump_state": Signal("state", "on"),
    },
    "superconducting_magnet": {
        "magnet_quench_flag": Signal("state", "0"),
        "magnet_ramp_state": Signal("state", "2"),
        "helium_level_percent": Signal("%", 80.0, noise=0.001, drift_per_day=-0.5),
    },
    "qkd_link": {
        "qber_ratio": Signal("ratio", 0.02, noise=0.05),
        "channel_loss_db": Signal("dB", 12.0, noise=0.01),
        "qkd_link_state": Signal("state", "running"),
    },
    "helium_supply": {
        "helium_storage_level_percent": Signal("%", 60.0, noise=0.001, drift_per_day=-0.3),
        "room_oxygen_percent": Signal("%", 20.9, noise=0.002),
        "extraction_fan_state": Signal("state", "on"),
    },
    "power_feed": {"mains_power_state": Signal("state", "ok")},
}

Effect = Callable[[str, float, float | str], float | str | None]


def _cooling_outage(metric: str, elapsed: float, normal: float | str) -> float | str | None:
    # The mixing chamber warms first and fast; the 4K stage follows once the pulse tube is out.
    warm = {
        "mxc_temperature_k": min(4.0, 0.010 * math.exp(elapsed / 40)),
        "still_temperature_k": min(10.0, 0.75 * math.exp(elapsed / 120)),
        "flange_4k_temperature_k": min(60.0, 3.5 + elapsed / 30),
        "flange_50k_temperature_k": min(120.0, 45.0 + elapsed / 20),
    }
    return warm.get(metric, normal)


def _compressor_trip(metric: str, elapsed: float, normal: float | str) -> float | str | None:
    return "7" if metric == "compressor_state" else normal


def _laser_lock_loss(metric: str, elapsed: float, normal: float | str) -> float | str | None:
    lost = {
        "lock_error_signal_rms_v": 0.2,
        "cavity_transmission_ratio": 0.1,
        "wavemeter_deviation_mhz": 40.0,
    }
    return lost.get(metric, normal)


def _vacuum_leak(metric: str, elapsed: float, normal: float | str) -> float | str | None:
    if metric == "vacuum_pressure_mbar":
        return min(1e-3, 2e-11 * 10 ** (elapsed / 60))
    return normal


def _qber_step(metric: str, elapsed: float, normal: float | str) -> float | str | None:
    return 0.12 if metric == "qber_ratio" else normal


def _magnet_quench(metric: str, elapsed: float, normal: float | str) -> float | str | None:
    quenched: dict[str, float | str] = {
        "magnet_quench_flag": "1",
        "magnet_ramp_state": "7",
        "helium_level_percent": max(0.0, 80.0 - elapsed / 3),
    }
    return quenched.get(metric, normal)


def _sensor_silent(metric: str, elapsed: float, normal: float | str) -> float | str | None:
    return None


@dataclass(frozen=True)
class Fault:
    """A named fault and the kinds of asset it can strike."""

    name: str
    asset_kinds: frozenset[str]
    effect: Effect
    description: str


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault(
            "cooling-outage",
            frozenset({"dilution_refrigerator"}),
            _cooling_outage,
            "pulse-tube cooling lost: the fridge warms, mixing chamber first",
        ),
        Fault(
            "compressor-trip",
            frozenset({"pulse_tube_compressor"}),
            _compressor_trip,
            "the compressor goes to error state 7",
        ),
        Fault(
            "laser-lock-loss",
            frozenset({"laser_system"}),
            _laser_lock_loss,
            "the lock drops: error signal up, cavity transmission down",
        ),
        Fault(
            "vacuum-leak",
            frozenset({"vacuum_system"}),
            _vacuum_leak,
            "pressure rises tenfold a minute",
        ),
        Fault(
            "qber-step",
            frozenset({"qkd_link"}),
            _qber_step,
            "QBER steps to 12 % with normal loss: possible eavesdropping",
        ),
        Fault(
            "magnet-quench",
            frozenset({"superconducting_magnet"}),
            _magnet_quench,
            "the magnet quenches and boils off its helium",
        ),
        Fault("sensor-silent", frozenset(PROFILES), _sensor_silent, "the asset stops reporting"),
    )
}


class InjectionRefused(ValueError):
    """A fault that cannot strike as asked; ``field`` names what to change."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Injection:
    """A fault striking one asset from a moment on."""

    fault: Fault
    asset: str
    since: float


@dataclass
class Simulator:
    """Telemetry for a set of (asset, kind, site), deterministic for a seed.

    Slow drift is counted from ``origin``, the moment the simulation starts.
    """

    assets: Sequence[tuple[str, str, str]]
    origin: float = 0.0
    seed: int = 7
    injections: list[Injection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - noise, not secrets

    def inject(self, name: str, asset: str, at: float) -> Injection:
        """Strike ``asset`` with the named fault from ``at`` on; names the valid choices."""
        fault = FAULTS.get(name)
        if fault is None:
            raise InjectionRefused(
                f"unknown fault {name!r}; choose from {', '.join(sorted(FAULTS))}", field="fault"
            )
        kind = next((k for key, k, _site in self.assets if key == asset), None)
        if kind is None:
            raise InjectionRefused(f"no asset {asset!r} in the simulation", field="asset")
        if kind not in fault.asset_kinds:
            raise InjectionRefused(
                f"{name} strikes {', '.join(sorted(fault.asset_kinds))}, not {kind}", field="asset"
            )
        injection = Injection(fault, asset, at)
        self.injections.append(injection)
        return injection

    def tick(self, at: float) -> list[Sample]:
        """Return one reading of every metric of every asset at ``at``."""
        out: list[Sample] = []
        for asset, kind, site in self.assets:
            active = [i for i in self.injections if i.asset == asset and i.since <= at]
            for metric, signal in PROFILES.get(kind, {}).items():
                value: float | str | None = self._normal(signal, at)
                for injection in active:
                    assert value is not None
                    value = injection.fault.effect(metric, at - injection.since, value)
                    if value is None:
                        break
                if value is not None:
                    out.append(Sample(site, asset, metric, value, signal.unit, at))
        return out

    def _normal(self, signal: Signal, at: float) -> float | str:
        if isinstance(signal.level, str):
            return signal.level
        level = signal.level + signal.drift_per_day * (at - self.origin) / DAY
        level += signal.daily * math.sin(2 * math.pi * (at % DAY) / DAY)
        return level * (1 + self._random.gauss(0, signal.noise))
