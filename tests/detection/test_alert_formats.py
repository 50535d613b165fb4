"""Alerts from elsewhere: Alertmanager webhooks (v4), generic signals and EPICS severities."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from coherence.detection.formats import (
    EPICS_SEVERITIES,
    epics_severity,
    parse_alertmanager,
    parse_generic_signal,
)
from coherence.detection.samples import AlertStatus, ExternalAlert, Quality
from coherence.errors import ValidationFailed

T0 = 1_767_607_200.0  # 2026-01-05T10:00:00Z

# Shaped like Alertmanager 0.27's webhook notifier output (template.Data plus version/groupKey).
FIRING: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="FridgeWarming"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "coherence",
    "groupLabels": {"alertname": "FridgeWarming"},
    "commonLabels": {"alertname": "FridgeWarming", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.lab.local:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "FridgeWarming",
                "asset": "fridge-1",
                "instance": "bluefors-pc:9100",
                "severity": "critical",
            },
            "annotations": {
                "summary": "MXC above 50 mK for 2 minutes",
                "description": "mixing chamber at 0.081 K",
            },
            "startsAt": "2026-01-05T10:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.lab.local:9090/graph?g0.expr=mxc",
            "fingerprint": "a3b1f9d2c0e4b5a6",
        },
        {
            "status": "firing",
            "labels": {"alertname": "ChillerFlowLow", "asset": "chiller-1", "severity": "warning"},
            "annotations": {"description": "cooling water flow below 8 l/min"},
            "startsAt": "2026-01-05T11:00:00+01:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "0f1e2d3c4b5a6978",
        },
    ],
}


def payload(**changes: Any) -> bytes:
    data = copy.deepcopy(FIRING)
    data.update(changes)
    return orjson.dumps(data)


def with_alert(**changes: Any) -> bytes:
    data = copy.deepcopy(FIRING)
    data["alerts"][0].update(changes)
    return orjson.dumps(data)


def test_a_firing_webhook_gives_one_alert_per_entry() -> None:
    alerts, rejections = parse_alertmanager(payload())
    assert rejections == []
    first, second = alerts
    assert first == ExternalAlert(
        source="alertmanager",
        dedup_key="alertmanager:a3b1f9d2c0e4b5a6",
        asset="fridge-1",
        severity="sev1",
        status=AlertStatus.FIRING,
        summary="MXC above 50 mK for 2 minutes",
        starts_at=pytest.approx(T0 + 0.123456),  # type: ignore[arg-type]
        labels=(
            ("alertname", "FridgeWarming"),
            ("asset", "fridge-1"),
            ("instance", "bluefors-pc:9100"),
            ("severity", "critical"),
        ),
    )
    assert (second.severity, second.summary, second.starts_at) == (
        "sev3",
        "cooling water flow below 8 l/min",
        T0,
    )


def test_a_resolved_webhook_keeps_the_dedup_key_of_its_firing() -> None:
    resolved = copy.deepcopy(FIRING)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-01-05T10:30:00Z"
    fired, _ = parse_alertmanager(payload())
    cleared, rejections = parse_alertmanager(orjson.dumps(resolved))
    assert rejections == []
    assert [a.status for a in cleared] == [AlertStatus.RESOLVED] * 2
    assert [a.dedup_key for a in cleared] == [a.dedup_key for a in fired]


def test_without_a_fingerprint_the_key_is_a_stable_hash_of_the_labels() -> None:
    first, _ = parse_alertmanager(with_alert(fingerprint=None))
    reordered = dict(reversed(list(FIRING["alerts"][0]["labels"].items())))
    second, _ = parse_alertmanager(with_alert(fingerprint="", labels=reordered))
    assert first[0].dedup_key == second[0].dedup_key
    assert first[0].dedup_key.startswith("alertmanager:")
    assert first[0].dedup_key != "alertmanager:a3b1f9d2c0e4b5a6"


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", "sev1"),
        ("CRITICAL", "sev1"),
        ("major", "sev2"),
        ("error", "sev2"),
        ("warning", "sev3"),
        ("minor", "sev3"),
        ("info", "sev4"),
        ("none", "sev4"),
        ("sev2", "sev2"),
        ("page-everyone", "sev3"),
        (None, "sev3"),
    ],
)
def test_severity_labels_map_to_signal_severities(label: str | None, severity: str) -> None:
    labels = {"alertname": "X", "asset": "fridge-1"}
    if label is not None:
        labels["severity"] = label
    alerts, rejections = parse_alertmanager(with_alert(labels=labels))
    assert rejections == []
    assert alerts[0].severity == severity


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"labels": {"alertname": "NoAsset"}}, "alerts[0].labels.asset"),
        ({"labels": {"asset": "Fridge One"}}, "alerts[0].labels.asset"),
        ({"labels": {"asset": "fridge-1", "n": 3}}, "alerts[0].labels.n"),
        ({"labels": None}, "alerts[0].labels"),
        (
            {"labels": {"asset": "fridge-1", **{f"l{i}": "v" for i in range(70)}}},
            "alerts[0].labels",
        ),
        ({"annotations": ["summary"]}, "alerts[0].annotations"),
        ({"status": "pending"}, "alerts[0].status"),
        ({"startsAt": "2026-01-05T10:00:00"}, "alerts[0].startsAt"),
        ({"startsAt": None}, "alerts[0].startsAt"),
        ({"fingerprint": 12345}, "alerts[0].fingerprint"),
        ({"fingerprint": "x" * 200}, "alerts[0].fingerprint"),
    ],
)
def test_a_bad_alert_is_refused_alone_naming_its_field(changes: dict[str, Any], field: str) -> None:
    alerts, rejections = parse_alertmanager(with_alert(**changes))
    assert [a.asset for a in alerts] == ["chiller-1"]
    assert [(r.index, r.field) for r in rejections] == [(0, field)]


def test_a_non_object_alert_is_refused_alone() -> None:
    alerts, rejections = parse_alertmanager(payload(alerts=[FIRING["alerts"][1], "x", None]))
    assert len(alerts) == 1
    assert [(r.index, r.field) for r in rejections] == [(1, "alerts[1]"), (2, "alerts[2]")]


def test_a_long_summary_is_cut() -> None:
    alerts, _ = parse_alertmanager(with_alert(annotations={"summary": "s" * 5000}))
    assert len(alerts[0].summary) == 1000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (payload(version="3"), "version"),
        (payload(version=4), "version"),
        (payload(version=None), "version"),
        (payload(alerts={"0": {}}), "alerts"),
        (payload(alerts=None), "alerts"),
        (b"[]", "body"),
        (b"", "body"),
        (b'{"version": "4", "alerts": [', "body"),
        (b"\xff\xfe", "body"),
    ],
)
def test_an_unusable_webhook_raises_naming_the_field(body: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_alertmanager(body)
    assert caught.value.field == field


def signal(**changes: Any) -> bytes:
    data: dict[str, Any] = {
        "source": "epics-alarm-server",
        "dedup_key": "LINAC:RF:CAV1:FWD_PWR",
        "asset": "linac-1",
        "severity": "MAJOR",
        "status": "firing",
        "summary": "RF forward power HIHI",
        "starts_at": "2026-01-05T10:00:00Z",
        "labels": {"pv": "LINAC:RF:CAV1:FWD_PWR"},
    }
    data.update(changes)
    return orjson.dumps({k: v for k, v in data.items() if v is not ...})


def test_a_generic_signal_becomes_an_external_alert() -> None:
    assert parse_generic_signal(signal()) == ExternalAlert(
        source="epics-alarm-server",
        dedup_key="epics-alarm-server:LINAC:RF:CAV1:FWD_PWR",
        asset="linac-1",
        severity="sev2",
        status=AlertStatus.FIRING,
        summary="RF forward power HIHI",
        starts_at=T0,
        labels=(("pv", "LINAC:RF:CAV1:FWD_PWR"),),
    )


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("sev1", "sev1"), ("SEV4", "sev4"), ("INVALID", "sev2"), ("minor", "sev3"), (0, "sev4")],
)
def test_generic_severity_is_a_signal_severity_or_an_epics_one(
    severity: object, expected: str
) -> None:
    assert parse_generic_signal(signal(severity=severity)).severity == expected


def test_a_missing_start_uses_the_receipt_time_or_is_refused() -> None:
    assert parse_generic_signal(signal(starts_at=...), received_at=T0 + 5).starts_at == T0 + 5
    assert parse_generic_signal(signal(starts_at=T0), received_at=T0 + 5).starts_at == T0
    with pytest.raises(ValidationFailed) as caught:
        parse_generic_signal(signal(starts_at=...))
    assert caught.value.field == "starts_at"


def test_generic_signal_lists_every_problem() -> None:
    body = signal(severity=True, status="on", summary="", asset="Linac 1", colour="red")
    with pytest.raises(ValidationFailed) as caught:
        parse_generic_signal(body)
    paths = {p["path"] for p in caught.value.details["problems"]}
    assert paths == {"severity", "status", "summary", "asset", "colour"}
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    "changes",
    [
        {"dedup_key": ""},
        {"dedup_key": "a\nb"},
        {"dedup_key": "k" * 201},
        {"starts_at": "2026-01-05T10:00:00"},
        {"starts_at": T0 * 1000},
        {"labels": {"a": 1}},
        {"labels": {f"l{i}": "v" for i in range(65)}},
        {"source": ...},
    ],
)
def test_generic_signal_field_errors(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        parse_generic_signal(signal(**changes))


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b"null", b'{"a": NaN}'])
def test_generic_signal_unreadable_body(body: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_generic_signal(body)
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("given", "severity"),
    [
        ("NO_ALARM", "sev4"),
        (0, "sev4"),
        ("MINOR", "sev3"),
        (1, "sev3"),
        ("MAJOR", "sev2"),
        (2, "sev2"),
        ("INVALID", "sev2"),
        (3, "sev2"),
        (" major ", "sev2"),
    ],
)
def test_epics_severities_map_to_signal_severities(given: str | int, severity: str) -> None:
    assert epics_severity(given) == severity


@pytest.mark.parametrize("given", ["SEVERE", "", 4, -1, True, 2.0])
def test_unknown_epics_severities_are_refused(given: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        epics_severity(given)
    assert caught.value.field == "severity"


def test_only_invalid_marks_a_sample_untrustworthy() -> None:
    qualities = {name: entry.quality for name, entry in EPICS_SEVERITIES.items()}
    assert qualities == {
        "NO_ALARM": Quality.GOOD,
        "MINOR": Quality.GOOD,
        "MAJOR": Quality.GOOD,
        "INVALID": Quality.INVALID,
    }
    assert [entry.code for entry in EPICS_SEVERITIES.values()] == [0, 1, 2, 3]
