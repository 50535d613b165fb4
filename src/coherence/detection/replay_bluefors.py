"""Read a Bluefors log folder (day folders of thermometer, MaxiGauge, flow and status logs)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from coherence.detection.parsing import Invalid, ReplayResult, check_key
from coherence.detection.samples import Quality, Sample
from coherence.errors import ValidationFailed

UTC_ZONE = ZoneInfo("UTC")

# Usual wiring of a Bluefors Lakeshore bridge; CH4 and CH7+ vary by install (pass `channels`).
DEFAULT_CHANNELS: Mapping[int, str] = {
    1: "flange_50k_temperature_k",
    2: "flange_4k_temperature_k",
    3: "magnet_temperature_k",
    5: "still_temperature_k",
    6: "mxc_temperature_k",
}
STATUS_KEYS: Mapping[str, tuple[str, str]] = {
    "cpatempwi": ("cooling_water_in_temperature_c", "degC"),
    "cpatempwo": ("cooling_water_out_temperature_c", "degC"),
    "cpatempo": ("compressor_oil_temperature_c", "degC"),
    "cpatemph": ("compressor_helium_temperature_c", "degC"),
    "cpastate": ("compressor_state", "state"),
}
FLOW_METRIC = "mixture_flow_mmol_per_s"

_DAY = r"(\d{2}-\d{2}-\d{2})"
_THERMOMETER = re.compile(rf"CH(\d+) ([TRP]) {_DAY}\.log", re.IGNORECASE)
_MAXIGAUGE = re.compile(rf"maxigauge {_DAY}\.log", re.IGNORECASE)
_FLOWMETER = re.compile(rf"flowmeter {_DAY}\.log", re.IGNORECASE)
_STATUS = re.compile(rf"status_{_DAY}\.log", re.IGNORECASE)
_GAUGE = re.compile(r"CH([1-6])")
# ASCII digits only (str.isdigit() also passes '²', which int() refuses), and few enough of
# them that no date or time field can overflow.
_FIELD = re.compile(r"[0-9]{1,4}")


class _Reader:
    """State for one folder: where samples go, and the date order each file uses."""

    def __init__(self, *, site: str, asset: str, tz: ZoneInfo) -> None:
        self.site, self.asset, self.tz = site, asset, tz
        self.result = ReplayResult()
        self._days: dict[tuple[str, date | None], date] = {}

    def lines(self, path: Path, label: str) -> Iterator[tuple[str, list[str], float]]:
        """Yield (where, fields after date and time, epoch) for each readable line."""
        file_day = _file_day(path.name)
        # Bluefors PCs write plain ASCII; undecodable bytes only ever sit on garbage lines.
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{label}:{number}"
            if not line.strip():
                self.result.blank_lines += 1
                continue
            fields = [part.strip() for part in line.split(",")]
            try:
                if len(fields) < 3:
                    raise Invalid("line", "expected date,time,value")
                stamp = self._epoch(fields[0], fields[1], file_day)
            except Invalid as exc:
                self.skip(where, f"{exc.message}: {line.strip()[:60]!r}")
                continue
            yield where, fields[2:], stamp

    def skip(self, where: str, reason: str) -> None:
        """Record a line or file passed over, and why."""
        self.result.skipped.append(f"{where}: {reason}")

    def add(self, metric: str, unit: str, raw: str, stamp: float, quality: Quality) -> str | None:
        """Append one sample from a logged number; return why not if it is not one."""
        try:
            value = float(raw)
        except ValueError:
            return f"{raw[:30]!r} is not a number"
        if not math.isfinite(value):
            return f"{raw[:30]!r} is not a finite number"
        self.result.samples.append(
            Sample(self.site, self.asset, metric, value, unit, stamp, quality)
        )
        return None

    def _epoch(self, day_text: str, time_text: str, file_day: date | None) -> float:
        day = self._days.get((day_text, file_day))
        if day is None:
            day = self._days[(day_text, file_day)] = _parse_day(day_text, file_day)
        parts = time_text.split(":")
        if len(parts) != 3 or not all(_FIELD.fullmatch(p) for p in parts):
            raise Invalid("time", f"time {time_text[:20]!r} is not HH:MM:SS")
        hour, minute, second = (int(p) for p in parts)
        try:
            moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=self.tz)
        except ValueError as exc:
            raise Invalid("time", f"time {time_text[:20]!r}: {exc}") from None
        return moment.timestamp()


def read_bluefors(
    folder: Path,
    *,
    site: str,
    asset: str,
    tz: ZoneInfo = UTC_ZONE,
    channels: Mapping[int, str] = DEFAULT_CHANNELS,
) -> ReplayResult:
    """Read every day folder under ``folder`` into samples in time order (times in ``tz``)."""
    try:
        check_key(site, "site")
        check_key(asset, "asset")
    except Invalid as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    if not folder.is_dir():
        raise ValidationFailed(f"no such folder: {folder}", field="folder")
    reader = _Reader(site=site, asset=asset, tz=tz)
    day_folders = [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]
    seen = {day: _read_day(reader, folder, day, channels) for day in day_folders}
    anywhere = set().union(*seen.values())
    for day, channels_here in seen.items():
        if channels_here:
            where = day.relative_to(folder).as_posix()
            for channel in sorted(anywhere - channels_here):
                reader.skip(f"{where}/", f"no 'CH{channel} T' file, so no {channels[channel]}")
    for channel in sorted(set(channels) - anywhere):
        reader.skip(".", f"no 'CH{channel} T' files at all, so no {channels[channel]}")
    return reader.result.sort()


def _read_day(reader: _Reader, root: Path, day: Path, channels: Mapping[int, str]) -> set[int]:
    """Read one folder's log files; return the mapped thermometer channels it had."""
    files = sorted(p for p in day.iterdir() if p.is_file() and p.suffix.lower() == ".log")
    seen: set[int] = set()
    for path in files:
        label = path.relative_to(root).as_posix()
        if match := _THERMOMETER.fullmatch(path.name):
            channel, kind = int(match[1]), match[2].upper()
            # R (ohms) and P (heater watts) files restate what T already says.
            if kind == "T" and channel in channels:
                seen.add(channel)
                _read_single(reader, path, label, channels[channel], "K")
        elif _MAXIGAUGE.fullmatch(path.name):
            _read_maxigauge(reader, path, label)
        elif _FLOWMETER.fullmatch(path.name):
            _read_single(reader, path, label, FLOW_METRIC, "mmol/s")
        elif _STATUS.fullmatch(path.name):
            _read_status(reader, path, label)
    return seen


def _read_single(reader: _Reader, path: Path, label: str, metric: str, unit: str) -> None:
    for where, rest, stamp in reader.lines(path, label):
        if any(rest[1:]):
            reader.skip(where, f"expected date,time,value, got {len(rest) + 2} fields")
            continue
        problem = reader.add(metric, unit, rest[0], stamp, Quality.GOOD)
        if problem:
            reader.skip(where, problem)


def _read_maxigauge(reader: _Reader, path: Path, label: str) -> None:
    # Each gauge: CHn, name, state, value (mbar), then two flags; the state is 1 while the
    # gauge measures. A gauge switched off still logs a placeholder number: mark it invalid.
    for where, rest, stamp in reader.lines(path, label):
        found = False
        for index, token in enumerate(rest):
            gauge = _GAUGE.fullmatch(token)
            if gauge is None:
                continue
            found = True
            if index + 3 >= len(rest):
                reader.skip(where, f"CH{gauge[1]}: the line ends before its value")
                continue
            state = rest[index + 2]
            quality = {"1": Quality.GOOD, "0": Quality.INVALID}.get(state, Quality.UNCERTAIN)
            metric = f"pressure_p{gauge[1]}_mbar"
            problem = reader.add(metric, "mbar", rest[index + 3], stamp, quality)
            if problem:
                reader.skip(where, f"CH{gauge[1]}: {problem}")
        if not found:
            reader.skip(where, "no CH1-CH6 gauge readings on the line")


def _read_status(reader: _Reader, path: Path, label: str) -> None:
    for where, rest, stamp in reader.lines(path, label):
        pairs = dict(zip(rest[0::2], rest[1::2], strict=False))
        if len(rest) % 2 or not pairs:
            reader.skip(where, "expected date,time then key,value pairs")
            continue
        for key, (metric, unit) in STATUS_KEYS.items():
            if key in pairs:
                problem = reader.add(metric, unit, pairs[key], stamp, Quality.GOOD)
                if problem:
                    reader.skip(where, f"{key}: {problem}")


def _file_day(name: str) -> date | None:
    match = re.search(_DAY, name)
    if match is None:
        return None
    year, month, day = (int(p) for p in match[1].split("-"))
    try:
        return date(2000 + year, month, day)
    except ValueError:
        return None


def _parse_day(text: str, file_day: date | None) -> date:
    parts = text.split("-")
    if len(parts) != 3 or not all(_FIELD.fullmatch(p) for p in parts):
        raise Invalid("date", f"date {text[:20]!r} is not DD-MM-YY or YY-MM-DD")
    a, b, c = parts
    if len(a) == 4:
        orders = [(int(a), int(b), int(c))]
    elif len(c) == 4:
        orders = [(int(c), int(b), int(a))]
    else:
        # Bluefors writes DD-MM-YY; some installs write YY-MM-DD. Both may be valid dates
        # ("23-01-02"), so the file name's own YY-MM-DD date decides.
        orders = [(2000 + int(c), int(b), int(a)), (2000 + int(a), int(b), int(c))]
    candidates = []
    for year, month, day in orders:
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise Invalid("date", f"date {text[:20]!r} is not a real date")
    if file_day is not None:
        candidates.sort(key=lambda d: abs((d - file_day).days))
    return candidates[0]
