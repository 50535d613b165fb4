"""The doctor's verdicts from plain observations: no database, no network."""

from __future__ import annotations

import pytest

from coherence.doctor import domain
from coherence.doctor.domain import Finding, SettingsFacts, Thresholds, Verdict

LIMITS = Thresholds()
SAFE = SettingsFacts(
    production=True,
    default_secret=False,
    secret_length=64,
    host="127.0.0.1",
    public_url="https://coherence.lab.example.org",
)


def _verdicts(findings: list[Finding]) -> list[Verdict]:
    return [f.verdict for f in findings]


def test_safe_production_settings_pass() -> None:
    assert _verdicts(domain.judge_settings(SAFE)) == [Verdict.OK]


def test_development_defaults_warn_with_the_fix() -> None:
    facts = SettingsFacts(
        production=False,
        default_secret=True,
        secret_length=32,
        host="127.0.0.1",
        public_url="",
    )
    found = domain.judge_settings(facts)
    assert _verdicts(found) == [Verdict.WARN, Verdict.WARN]
    assert "COHERENCE_SECRET_KEY" in found[0].summary
    assert "token_urlsafe" in found[0].fix
    assert "COHERENCE_ENVIRONMENT=production" in found[1].fix


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"secret_length": 20}, "only 20 characters"),
        ({"host": "0.0.0.0", "public_url": ""}, "COHERENCE_PUBLIC_URL"),
        ({"public_url": "http://coherence.lab.example.org"}, "plain HTTP"),
    ],
)
def test_each_insecure_choice_warns(changes: dict[str, object], needle: str) -> None:
    facts = SettingsFacts(**{**SAFE.__dict__, **changes})  # type: ignore[arg-type]
    found = domain.judge_settings(facts)
    assert _verdicts(found) == [Verdict.WARN]
    assert needle in found[0].summary + found[0].fix


def test_plain_http_on_loopback_is_fine() -> None:
    facts = SettingsFacts(**{**SAFE.__dict__, "public_url": "http://127.0.0.1:8000"})  # type: ignore[arg-type]
    assert _verdicts(domain.judge_settings(facts)) == [Verdict.OK]


def test_invalid_settings_fail() -> None:
    finding = domain.invalid_settings("invalid settings: COHERENCE_PORT: too big")
    assert finding.verdict is Verdict.FAIL
    assert "COHERENCE_PORT" in finding.summary


@pytest.mark.parametrize(
    ("latency", "verdict"), [(1.0, Verdict.OK), (150.0, Verdict.WARN), (2500.0, Verdict.FAIL)]
)
def test_database_latency(latency: float, verdict: Verdict) -> None:
    finding = domain.judge_database("db", latency_ms=latency, error=None, thresholds=LIMITS)
    assert finding.verdict is verdict


def test_unreachable_database_fails_naming_the_setting() -> None:
    finding = domain.judge_database(
        "postgresql://db/x", latency_ms=None, error="connection refused", thresholds=LIMITS
    )
    assert finding.verdict is Verdict.FAIL
    assert "COHERENCE_DATABASE_URL" in finding.fix


def test_migrations() -> None:
    assert domain.judge_migrations("0017", "0017", known=True).verdict is Verdict.OK
    missing = domain.judge_migrations(None, "0017", known=False)
    assert missing.verdict is Verdict.FAIL
    assert "coherence db upgrade" in missing.fix
    behind = domain.judge_migrations("0010", "0017", known=True)
    assert behind.verdict is Verdict.FAIL
    assert "0010" in behind.summary
    assert "coherence db upgrade" in behind.fix
    ahead = domain.judge_migrations("0099", "0017", known=False)
    assert ahead.verdict is Verdict.FAIL
    assert "does not know" in ahead.summary


@pytest.mark.parametrize(
    ("skew", "uncertainty", "verdict"),
    [
        (0.2, 0.001, Verdict.OK),
        (-5.0, 0.001, Verdict.WARN),
        (45.0, 0.001, Verdict.FAIL),
        # A slow round trip makes the skew unknowable to that extent: not a warning.
        (3.0, 1.5, Verdict.OK),
    ],
)
def test_clock_skew(skew: float, uncertainty: float, verdict: Verdict) -> None:
    finding = domain.judge_clock(skew, uncertainty=uncertainty, error=None, thresholds=LIMITS)
    assert finding.verdict is verdict
    if verdict is not Verdict.OK:
        assert "NTP" in finding.fix
    assert ("behind" in finding.summary) == (skew < 0)


@pytest.mark.parametrize(
    ("free", "total", "verdict"),
    [
        (50 * domain.GIB, 100 * domain.GIB, Verdict.OK),
        (1 * domain.GIB, 10 * domain.GIB, Verdict.WARN),
        (5 * domain.GIB, 100 * domain.GIB, Verdict.WARN),
        (100 * domain.MIB, 100 * domain.GIB, Verdict.FAIL),
        (1 * domain.GIB, 1000 * domain.GIB, Verdict.FAIL),
    ],
)
def test_disk_space(free: int, total: int, verdict: Verdict) -> None:
    finding = domain.judge_disk("evidence", "/srv", free=free, total=total, thresholds=LIMITS)
    assert finding.verdict is verdict


def test_readable_key_fails_with_chmod() -> None:
    finding = domain.judge_key("/srv/k", exists=True, mode=0o100644, error=None, signed_latest=True)
    assert finding.verdict is Verdict.FAIL
    assert "0644" in finding.summary
    assert finding.fix == "run `chmod 600 /srv/k`"


def test_key_states() -> None:
    assert (
        domain.judge_key("/k", exists=True, mode=0o100600, error=None, signed_latest=True).verdict
        is Verdict.OK
    )
    missing = domain.judge_key("/k", exists=False, mode=None, error=None, signed_latest=None)
    assert missing.verdict is Verdict.WARN
    assert "coherence init" in missing.fix
    foreign = domain.judge_key("/k", exists=True, mode=0o100600, error=None, signed_latest=False)
    assert foreign.verdict is Verdict.FAIL
    assert "COHERENCE_LEDGER_KEY_FILE" in foreign.fix


@pytest.mark.parametrize(
    ("outcome", "verdict", "needle"),
    [
        (None, Verdict.OK, ""),
        (domain.UNTESTED, Verdict.WARN, "--test-to email=ADDRESS"),
        ("not_configured", Verdict.WARN, "channels.yaml"),
        ("refused", Verdict.FAIL, "host and port"),
        ("timeout", Verdict.FAIL, "timeout_seconds"),
        ("rejected", Verdict.FAIL, "credentials"),
        ("error", Verdict.FAIL, "channels.yaml"),
    ],
)
def test_channel_outcomes(outcome: str | None, verdict: Verdict, needle: str) -> None:
    finding = domain.judge_channel("email", outcome=outcome, detail="x", source="channels.yaml")
    assert finding.verdict is verdict
    assert needle in finding.fix


def test_broker_fix_names_the_setting_and_jetstream() -> None:
    down = domain.judge_broker(
        "mqtt", "mqtt://h:1", error="refused", latency_ms=None, setting="COHERENCE_MQTT_URL"
    )
    assert down.verdict is Verdict.FAIL
    assert "COHERENCE_MQTT_URL" in down.fix
    plain = domain.judge_broker(
        "nats", "nats://h", error=None, latency_ms=2, setting="X", jetstream=False
    )
    assert plain.verdict is Verdict.FAIL
    assert "-js" in plain.fix


def test_exit_code_and_counts() -> None:
    found = [
        Finding("a", Verdict.OK, ""),
        Finding("b", Verdict.WARN, "", "w"),
    ]
    assert domain.exit_code(found) == 0
    found.append(Finding("c", Verdict.FAIL, "", "f"))
    assert domain.exit_code(found) == 1
    assert domain.counts(found) == {"ok": 1, "warn": 1, "fail": 1}


def test_console_only_pages_warn_in_production() -> None:
    assert domain.no_channels_file(production=False).verdict is Verdict.OK
    assert domain.no_channels_file(production=True).verdict is Verdict.WARN
