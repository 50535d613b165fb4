"""What `coherence doctor` concludes from what it observed: observations in, verdicts out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

GIB = 1 << 30
MIB = 1 << 20
# Not a bind: the host settings that mean "every interface", recognised to warn about them.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})  # noqa: S104
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
GOOD_SECRET_LENGTH = 32
# The outcome of a channel the doctor had no address to test with.
UNTESTED = "untested"


class Verdict(StrEnum):
    """How one check came out."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    """One check's verdict, what was seen, and (unless OK) the one thing to do about it."""

    check: str
    verdict: Verdict
    summary: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        """The finding as `--json` prints it."""
        return {
            "check": self.check,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Thresholds:
    """Where a measurement turns from OK to WARN and from WARN to FAIL."""

    latency_warn_ms: float = 100.0
    latency_fail_ms: float = 2000.0
    # Acknowledgement links and webhook signatures tolerate minutes; escalations run on seconds.
    skew_warn_seconds: float = 2.0
    skew_fail_seconds: float = 30.0
    disk_warn_bytes: int = 2 * GIB
    disk_fail_bytes: int = 256 * MIB
    disk_warn_fraction: float = 0.10
    disk_fail_fraction: float = 0.02


@dataclass(frozen=True)
class SettingsFacts:
    """The settings that decide whether a deployment is safe, as plain values."""

    production: bool
    default_secret: bool
    secret_length: int
    host: str
    public_url: str


def judge_settings(facts: SettingsFacts) -> list[Finding]:
    """Warn about each insecure choice in otherwise valid settings."""
    found: list[Finding] = []
    if facts.default_secret:
        found.append(
            _warn(
                "settings",
                "COHERENCE_SECRET_KEY is the development default",
                "set COHERENCE_SECRET_KEY to a long random value: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'",
            )
        )
    elif facts.secret_length < GOOD_SECRET_LENGTH:
        found.append(
            _warn(
                "settings",
                f"COHERENCE_SECRET_KEY is only {facts.secret_length} characters",
                f"use at least {GOOD_SECRET_LENGTH} random characters (token_urlsafe(48))",
            )
        )
    if not facts.production:
        found.append(
            _warn(
                "settings",
                "running in development mode",
                "set COHERENCE_ENVIRONMENT=production on a live system",
            )
        )
    if facts.host in WILDCARD_HOSTS and not facts.public_url:
        found.append(
            _warn(
                "settings",
                f"links in pages will point at http://{facts.host}, which nobody can open",
                "set COHERENCE_PUBLIC_URL to the address people reach the dashboard at",
            )
        )
    url_host = facts.public_url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if (
        facts.production
        and facts.public_url.startswith("http://")
        and url_host not in LOOPBACK_HOSTS
    ):
        found.append(
            _warn(
                "settings",
                f"COHERENCE_PUBLIC_URL {facts.public_url} is plain HTTP",
                "terminate TLS in a reverse proxy (docs/deploy.md) and use an https:// URL",
            )
        )
    return found or [Finding("settings", Verdict.OK, "settings parse; no insecure choice found")]


def invalid_settings(message: str) -> Finding:
    """The settings do not parse: nothing else can be checked."""
    return Finding(
        "settings",
        Verdict.FAIL,
        message,
        "correct the COHERENCE_* variable named above (see docs/operations.md#settings)",
    )


def judge_database(
    where: str, *, latency_ms: float | None, error: str | None, thresholds: Thresholds
) -> Finding:
    """Judge whether the database answers, and how fast."""
    if error is not None or latency_ms is None:
        return Finding(
            "database",
            Verdict.FAIL,
            f"cannot reach {where}: {error}",
            "start the database or correct COHERENCE_DATABASE_URL (host, port, user, password)",
        )
    summary = f"{where} answers in {latency_ms:.1f} ms"
    if latency_ms >= thresholds.latency_fail_ms:
        return Finding(
            "database",
            Verdict.FAIL,
            summary,
            "move the database closer to Coherence or find what is slowing it",
        )
    if latency_ms >= thresholds.latency_warn_ms:
        return _warn(
            "database",
            summary,
            f"aim for under {thresholds.latency_warn_ms:g} ms: put the database near Coherence",
        )
    return Finding("database", Verdict.OK, summary)


def judge_migrations(current: str | None, head: str | None, *, known: bool) -> Finding:
    """Judge whether the schema is at the migration this code needs."""
    if current is None:
        return Finding(
            "migrations",
            Verdict.FAIL,
            "the database has no Coherence schema",
            "run `coherence db upgrade` (or `coherence init`)",
        )
    if current == head:
        return Finding("migrations", Verdict.OK, f"at the newest migration, {head}")
    if not known:
        return Finding(
            "migrations",
            Verdict.FAIL,
            f"the database is at migration {current}, which this version does not know",
            "run the Coherence version that migrated it, or restore a backup made for this one",
        )
    return Finding(
        "migrations",
        Verdict.FAIL,
        f"the database is at migration {current}; this version needs {head}",
        "stop Coherence, back up, then run `coherence db upgrade`",
    )


def judge_clock(
    skew_seconds: float | None, *, uncertainty: float, error: str | None, thresholds: Thresholds
) -> Finding:
    """Judge how far this machine's clock is from the database server's."""
    if error is not None or skew_seconds is None:
        return _warn(
            "clock", f"cannot read the database's clock: {error}", "fix the database first"
        )
    direction = "ahead of" if skew_seconds >= 0 else "behind"
    summary = (
        f"the database clock is {abs(skew_seconds):.3f} s {direction} this machine's "
        f"(±{uncertainty:.3f} s)"
    )
    excess = abs(skew_seconds) - uncertainty
    fix = "synchronise both machines with NTP (chrony or systemd-timesyncd)"
    if excess > thresholds.skew_fail_seconds:
        return Finding("clock", Verdict.FAIL, summary, fix)
    if excess > thresholds.skew_warn_seconds:
        return _warn("clock", summary, fix)
    return Finding("clock", Verdict.OK, summary)


def judge_disk(what: str, path: str, *, free: int, total: int, thresholds: Thresholds) -> Finding:
    """Judge the free space on the volume holding ``what``."""
    fraction = free / total if total else 0.0
    summary = f"{what}: {_size(free)} free of {_size(total)} ({fraction:.0%}) at {path}"
    fix = f"free space on the volume holding {path}, or move {what} to a bigger one"
    if free < thresholds.disk_fail_bytes or fraction < thresholds.disk_fail_fraction:
        return Finding("disk", Verdict.FAIL, summary, fix)
    if free < thresholds.disk_warn_bytes or fraction < thresholds.disk_warn_fraction:
        return _warn("disk", summary, fix)
    return Finding("disk", Verdict.OK, summary)


def judge_key(
    path: str,
    *,
    exists: bool,
    mode: int | None,
    error: str | None,
    signed_latest: bool | None,
) -> Finding:
    """Judge the ledger signing key file: present, owner-only, a key, and the ledger's own."""
    if not exists:
        return _warn(
            "ledger key",
            f"no key at {path} yet; the first process to start would make a new one",
            "run `coherence init` once, then copy that key (mode 600) to every server",
        )
    if mode is not None and mode & 0o077:
        return Finding(
            "ledger key",
            Verdict.FAIL,
            f"{path} is mode {mode & 0o777:04o}: others on this machine can read it",
            f"run `chmod 600 {path}`",
        )
    if error is not None:
        return Finding(
            "ledger key",
            Verdict.FAIL,
            error,
            "restore the key from backup, or point COHERENCE_LEDGER_KEY_FILE at it",
        )
    if signed_latest is False:
        return Finding(
            "ledger key",
            Verdict.FAIL,
            f"{path} did not sign the ledger's latest checkpoint",
            "use the key the other servers on this database use (COHERENCE_LEDGER_KEY_FILE)",
        )
    checked = "; it signed the latest checkpoint" if signed_latest else ""
    return Finding("ledger key", Verdict.OK, f"{path} is owner-only{checked}")


def judge_directory(check: str, path: str, *, error: str | None, exists: bool) -> Finding:
    """Judge whether Coherence can write into a directory (or create it)."""
    if error is not None:
        return Finding(
            check,
            Verdict.FAIL,
            f"cannot write to {path}: {error}",
            f"make {path} writable by the user that runs Coherence",
        )
    state = "writable" if exists else "not there yet; its parent is writable, so it will be made"
    return Finding(check, Verdict.OK, f"{path} is {state}")


def judge_broker(
    check: str,
    url: str,
    *,
    error: str | None,
    latency_ms: float | None,
    setting: str,
    jetstream: bool | None = None,
) -> Finding:
    """Judge whether a configured broker accepts a connection (and, for NATS, has JetStream)."""
    if error is not None:
        return Finding(
            check,
            Verdict.FAIL,
            f"{url}: {error}",
            f"start the broker at {url}, open the firewall to it, or correct {setting}",
        )
    if jetstream is False:
        return Finding(
            check,
            Verdict.FAIL,
            f"{url} answers but JetStream is not enabled",
            "start nats-server with JetStream (`nats-server -js`, or `jetstream {}` in its config)",
        )
    extra = " with JetStream" if jetstream else ""
    return Finding(check, Verdict.OK, f"{url} accepted a connection{extra} in {latency_ms:.0f} ms")


def judge_channel(kind: str, *, outcome: str | None, detail: str, source: str) -> Finding:
    """Judge one channel's test message: ``outcome`` is None when it was handed over."""
    check = f"channel {kind}"
    if outcome is None:
        return Finding(check, Verdict.OK, f"test message handed over ({detail})")
    if outcome == UNTESTED:
        return _warn(check, f"not tested: {detail}", f"run again with --test-to {kind}=ADDRESS")
    if outcome == "not_configured":
        return _warn(check, detail, f"give the channel a default destination in {source}")
    fixes = {
        "refused": f"start the service or correct its host and port in {source}",
        "timeout": f"open the network path to it, or raise its timeout_seconds in {source}",
        "rejected": f"check the credentials and the test address; the service said no ({source})",
    }
    return Finding(
        check,
        Verdict.FAIL,
        f"test message failed ({outcome}): {detail}",
        fixes.get(outcome, f"check this channel's entry in {source}"),
    )


def no_channels_file(*, production: bool) -> Finding:
    """Without a channels file every page only prints on the worker's console."""
    summary = "no COHERENCE_CHANNELS_FILE: pages print on the worker's console only"
    if production:
        return _warn(
            "channels",
            summary,
            "write a channels file (docs/notifications.md#channels) and set "
            "COHERENCE_CHANNELS_FILE",
        )
    return Finding("channels", Verdict.OK, summary)


def not_checked(check: str, reason: str) -> Finding:
    """A check that depends on one that failed."""
    return _warn(check, f"not checked: {reason}", "fix the failure above first")


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings came out OK, WARN and FAIL."""
    tally = Counter(f.verdict for f in findings)
    return {v.value: tally.get(v, 0) for v in Verdict}


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any check failed, else 0: warnings do not fail a deployment."""
    return 1 if any(f.verdict is Verdict.FAIL for f in findings) else 0


def _warn(check: str, summary: str, fix: str) -> Finding:
    return Finding(check, Verdict.WARN, summary, fix)


def _size(count: int) -> str:
    if count >= GIB:
        return f"{count / GIB:.1f} GiB"
    return f"{count / MIB:.0f} MiB"
