"""Bluefors log folders with the quirks real ones have, and NDJSON files, replayed into samples."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from coherence.detection.metrics import normalise
from coherence.detection.replay import read_bluefors, read_ndjson_file
from coherence.detection.samples import Quality, Sample
from coherence.errors import NotFound, ValidationFailed


def at(*parts: int, tz: ZoneInfo | None = None) -> float:
    return datetime(*parts, tzinfo=tz or UTC).timestamp()  # type: ignore[misc]


def write(path: Path, *lines: str, newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((newline.join(lines) + newline).encode())


MAXIGAUGE_LINE = (
    "05-01-26,10:00:00,CH1,        ,1, 1.43E-02,0,1,CH2,       ,1, 9.99E-01,0,1,"
    "CH3,       ,0, 2.00E-02,0,1,CH4,       ,1, 7.00E+02,0,1,CH5,       ,1, 5.00E+02,0,1,"
    "CH6,       ,1, broken,0,1,"
)
STATUS_LINE = (
    "05-01-26,10:00:00,ctrl_pres,1.000000e+00,cpastate,3.000000e+00,cparun,1.000000e+00,"
    "cpatempwi,1.679444e+01,cpatempwo,2.427111e+01,cpatempo,2.421444e+01,cpatemph,6.006001e+01"
)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Two days: the first has no CH6 file, odd date orders, CRLF, blanks and garbage."""
    day1, day2 = tmp_path / "26-01-05", tmp_path / "26-01-06"
    write(
        day1 / "CH1 T 26-01-05.log",
        " 05-01-26,10:00:00,4.512345E+01",
        "",
        "garbage line with no commas",
        " 05-01-26,10:01:00,4.6E+01",
        newline="\r\n",
    )
    write(day1 / "CH2 T 26-01-05.log", "26-01-05,10:00:00,3.2", "26-01-05,25:00:00,3.3")
    write(day1 / "CH5 T 26-01-05.log", "2026-01-05,10:00:00,0.71", "05-01-26,10:00:00,nan")
    write(day1 / "CH1 R 26-01-05.log", "05-01-26,10:00:00,27.1")
    write(day1 / "CH1 P 26-01-05.log", "05-01-26,10:00:00,0.0")
    write(day1 / "maxigauge 26-01-05.log", MAXIGAUGE_LINE, "05-01-26,10:00:10,nothing,here")
    write(day1 / "Flowmeter 26-01-05.log", " 05-01-26,10:00:00,0.456")
    write(day1 / "Status_26-01-05.log", STATUS_LINE, "05-01-26,10:00:10,cpatempwi")
    write(day1 / "Channels 26-01-05.log", "05-01-26,10:00:00,1,v1,0,v2,1")
    (day1 / "CH2 T 26-01-05.log.bak").write_bytes(b"\xff\xfe junk")
    write(day2 / "CH1 T 26-01-06.log", "06-01-26,09:00:00,45.0")
    write(day2 / "CH6 T 26-01-06.log", "06-01-26,09:00:00,0.0121")
    (day2 / "CH2 T 26-01-06.log").write_bytes(b"06-01-26,09:00:00,3.1\n\xff\xfe\xfd,1,2\n")
    (tmp_path / "notes").mkdir()
    return tmp_path


def by_metric(samples: list[Sample]) -> dict[str, list[Sample]]:
    found: dict[str, list[Sample]] = {}
    for sample in samples:
        found.setdefault(sample.metric, []).append(sample)
    return found


def test_a_log_folder_becomes_samples_in_time_order(logs: Path) -> None:
    result = read_bluefors(logs, site="lab", asset="fridge-1")
    stamps = [s.timestamp for s in result.samples]
    assert stamps == sorted(stamps)
    assert {(s.site, s.asset) for s in result.samples} == {("lab", "fridge-1")}
    metrics = by_metric(result.samples)
    assert [(s.timestamp, s.value) for s in metrics["flange_50k_temperature_k"]] == [
        (at(2026, 1, 5, 10), 45.12345),
        (at(2026, 1, 5, 10, 1), 46.0),
        (at(2026, 1, 6, 9), 45.0),
    ]
    assert [s.value for s in metrics["flange_4k_temperature_k"]] == [3.2, 3.1]
    assert [s.value for s in metrics["still_temperature_k"]] == [0.71]
    assert [s.value for s in metrics["mxc_temperature_k"]] == [0.0121]
    assert [s.value for s in metrics["mixture_flow_mmol_per_s"]] == [0.456]
    assert "magnet_temperature_k" not in metrics


def test_both_date_orders_and_four_digit_years_read_the_same_day(tmp_path: Path) -> None:
    write(
        tmp_path / "23-01-02" / "CH1 T 23-01-02.log",
        "02-01-23,00:00:00,1.0",
        "23-01-02,00:00:01,2.0",
        "2023-01-02,00:00:02,3.0",
        "02-01-2023,00:00:03,4.0",
    )
    result = read_bluefors(tmp_path, site="lab", asset="fridge-1")
    assert [s.timestamp for s in result.samples] == [at(2023, 1, 2, 0, 0, n) for n in range(4)]


def test_local_times_are_read_in_the_given_zone(logs: Path) -> None:
    helsinki = ZoneInfo("Europe/Helsinki")
    result = read_bluefors(logs, site="lab", asset="fridge-1", tz=helsinki)
    first = result.samples[0]
    assert first.timestamp == at(2026, 1, 5, 10, tz=helsinki) == at(2026, 1, 5, 8)


def test_pressures_and_gauge_states(logs: Path) -> None:
    metrics = by_metric(read_bluefors(logs, site="lab", asset="fridge-1").samples)
    pressures = {m: s[0] for m, s in metrics.items() if m.startswith("pressure_")}
    assert {m: s.value for m, s in pressures.items()} == {
        "pressure_p1_mbar": 1.43e-2,
        "pressure_p2_mbar": 9.99e-1,
        "pressure_p3_mbar": 2.0e-2,
        "pressure_p4_mbar": 7.0e2,
        "pressure_p5_mbar": 5.0e2,
    }
    assert pressures["pressure_p1_mbar"].quality is Quality.GOOD
    assert pressures["pressure_p3_mbar"].quality is Quality.INVALID


def test_status_file_gives_compressor_readings(logs: Path) -> None:
    metrics = by_metric(read_bluefors(logs, site="lab", asset="fridge-1").samples)
    assert metrics["compressor_state"][0].value == 3.0
    assert metrics["cooling_water_in_temperature_c"][0].value == pytest.approx(16.79444)
    assert metrics["cooling_water_out_temperature_c"][0].value == pytest.approx(24.27111)
    assert metrics["compressor_oil_temperature_c"][0].value == pytest.approx(24.21444)
    assert metrics["compressor_helium_temperature_c"][0].value == pytest.approx(60.06001)


def test_every_replayed_sample_is_already_in_canonical_units(logs: Path) -> None:
    for sample in read_bluefors(logs, site="lab", asset="fridge-1").samples:
        assert normalise(sample) is sample


def test_bad_lines_and_missing_files_are_listed_not_fatal(logs: Path) -> None:
    result = read_bluefors(logs, site="lab", asset="fridge-1")
    skipped = "\n".join(result.skipped)
    assert "26-01-05/CH1 T 26-01-05.log:3: expected date,time,value" in skipped
    assert "26-01-05/CH2 T 26-01-05.log:2: time '25:00:00'" in skipped
    assert "26-01-05/CH5 T 26-01-05.log:2: 'nan' is not a finite number" in skipped
    assert "26-01-05/maxigauge 26-01-05.log:1: CH6: 'broken' is not a number" in skipped
    assert "26-01-05/maxigauge 26-01-05.log:2: no CH1-CH6 gauge readings" in skipped
    assert "26-01-05/Status_26-01-05.log:2: expected date,time then key,value" in skipped
    assert "26-01-06/CH2 T 26-01-06.log:2:" in skipped
    assert "26-01-05/: no 'CH6 T' file, so no mxc_temperature_k" in skipped
    assert ".: no 'CH3 T' files at all, so no magnet_temperature_k" in skipped
    assert "26-01-06/: no 'CH5 T' file, so no still_temperature_k" in skipped
    assert len(result.skipped) == 10
    assert result.blank_lines == 1


def test_channels_can_be_remapped(logs: Path) -> None:
    result = read_bluefors(logs, site="lab", asset="fridge-1", channels={1: "still_temperature_k"})
    assert {s.metric for s in result.samples if s.metric.endswith("temperature_k")} == {
        "still_temperature_k"
    }


def test_a_flat_folder_of_logs_reads_too(tmp_path: Path) -> None:
    write(tmp_path / "CH6 T 26-01-05.log", "05-01-26,10:00:00,0.011")
    result = read_bluefors(tmp_path, site="lab", asset="fridge-1")
    assert [s.value for s in result.samples] == [0.011]


def test_missing_folder_or_bad_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_bluefors(tmp_path / "nope", site="lab", asset="fridge-1")
    assert caught.value.field == "folder"
    with pytest.raises(ValidationFailed) as caught:
        read_bluefors(tmp_path, site="Lab One", asset="fridge-1")
    assert caught.value.field == "site"


def test_an_empty_folder_gives_nothing_but_says_so(tmp_path: Path) -> None:
    result = read_bluefors(tmp_path, site="lab", asset="fridge-1")
    assert result.samples == []
    assert len(result.skipped) == 5


def test_ndjson_file_replay_names_file_lines(tmp_path: Path) -> None:
    good = {
        "site": "lab",
        "asset": "fridge-1",
        "metric": "mxc_temperature_k",
        "value": 0.012,
        "unit": "K",
    }
    lines = [
        orjson.dumps({**good, "timestamp": 1_767_607_260}),
        b"",
        b"{oops",
        orjson.dumps({**good, "timestamp": 1_767_607_200}),
        orjson.dumps({**good, "unit": "mbar", "timestamp": 1_767_607_200}),
    ]
    path = tmp_path / "telemetry.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines))
    result = read_ndjson_file(path)
    assert [s.timestamp for s in result.samples] == [1_767_607_200, 1_767_607_260]
    assert [line.split(": ")[0] for line in result.skipped] == [
        "telemetry.ndjson:3",
        "telemetry.ndjson:5",
    ]
    assert result.blank_lines == 1
    with pytest.raises(NotFound):
        read_ndjson_file(tmp_path / "missing.ndjson")


def test_ndjson_file_longer_than_one_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("coherence.detection.replay.MAX_ITEMS", 3)
    line = b'{"site":"lab","asset":"a","metric":"qber_ratio","value":0.02,"unit":"ratio",'
    lines = [line + f'"timestamp":{1_767_607_200 + i}}}'.encode() for i in range(7)]
    lines[5] = b"not json"
    path = tmp_path / "long.ndjson"
    path.write_bytes(b"\n".join(lines))
    result = read_ndjson_file(path)
    assert len(result.samples) == 6
    assert result.skipped[0].startswith("long.ndjson:6: line: ")
