"""`coherence doctor`: check a deployment end to end and say what to fix."""

from __future__ import annotations

import typer
from rich.text import Text

from coherence import console
from coherence.catalog.domain import ContactChannel
from coherence.clock import Clock
from coherence.doctor import domain, network, probes
from coherence.doctor.domain import Finding, Verdict
from coherence.errors import CoherenceError, ValidationFailed

STYLES = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red"}


def diagnose(*, clock: Clock, options: probes.Options) -> list[Finding]:
    """Run every check against the configured deployment, in the order they depend on."""
    try:
        settings = console.load_settings()
    except CoherenceError as exc:
        return [domain.invalid_settings(exc.message)]
    return [
        *domain.judge_settings(probes.settings_facts(settings)),
        *probes.check_database(settings, clock=clock, options=options),
        probes.check_evidence_dir(settings),
        *probes.check_disks(settings, options.thresholds),
        *network.check_brokers(settings, options),
        *network.check_channels(settings, options),
    ]


def parse_test_to(values: list[str]) -> dict[str, str]:
    """Read each ``--test-to KIND=ADDRESS``, refusing unknown kinds and repeats."""
    kinds = {c.value for c in ContactChannel}
    parsed: dict[str, str] = {}
    for value in values:
        kind, sep, address = value.partition("=")
        kind, address = kind.strip(), address.strip()
        if not sep or not address:
            raise ValidationFailed(
                f"--test-to {value!r}: write KIND=ADDRESS, e.g. email=oncall@lab.example.org",
                field="test-to",
            )
        if kind not in kinds:
            raise ValidationFailed(
                f"--test-to {value!r}: {kind!r} is not a channel kind; "
                f"use one of {', '.join(sorted(kinds))}",
                field="test-to",
            )
        if kind in parsed:
            raise ValidationFailed(
                f"--test-to names {kind} twice; give one address", field="test-to"
            )
        parsed[kind] = address
    return parsed


@console.handle_errors
def doctor(
    json: bool = typer.Option(False, "--json", help="Print the findings as JSON for scripts."),
    timeout: float = typer.Option(
        3.0, min=0.1, max=60, help="Seconds to wait for the database and each broker."
    ),
    test_to: list[str] = typer.Option(
        [],
        "--test-to",
        help="KIND=ADDRESS: where a channel's test message goes (repeat), "
        "e.g. email=oncall@lab.example.org.",
    ),
    send: bool = typer.Option(
        True, "--send/--no-send", help="Send a test message through each configured channel."
    ),
) -> None:
    """Check the deployment end to end: OK, WARN or FAIL with what to fix; exit 1 on any FAIL."""
    options = probes.Options(timeout=timeout, send=send, test_to=parse_test_to(test_to))
    findings = diagnose(clock=console.clock(), options=options)
    tally = domain.counts(findings)
    if json:
        console.print_json(
            {
                "ok": domain.exit_code(findings) == 0,
                "counts": tally,
                "checks": [f.as_json() for f in findings],
            }
        )
    else:
        width = max(len(f.check) for f in findings)
        for finding in findings:
            line = Text(f"{finding.verdict.value.upper():<5}", style=STYLES[finding.verdict])
            console.out.print(line + Text(f" {finding.check:<{width}}  {finding.summary}"))
            if finding.fix:
                console.out.print(Text(f"      {'':<{width}}  fix: {finding.fix}"))
        console.out.print(f"{tally['ok']} OK, {tally['warn']} WARN, {tally['fail']} FAIL")
    if domain.exit_code(findings):
        raise typer.Exit(1)
