"""`coherence risk advisory`: threat and supply-chain advisories that raise likelihoods."""

from __future__ import annotations

import typer

from coherence import console
from coherence.risk import service, views
from coherence.risk.schemas import AdvisoryCreate

advisory_app = typer.Typer(help="Threat and supply-chain advisories.", no_args_is_help=True)


@advisory_app.command("list")
@console.handle_errors
def list_advisories(json: bool = console.JSON_OPTION) -> None:
    """List advisories, newest first, saying which are in force."""
    now = console.clock().now()
    with console.session() as session:
        rows = [views.advisory_read(a, now=now) for a in service.list_advisories(session)]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Advisories",
        ["key", "source", "factor", "in force", "expires", "affects", "reason"],
        [
            (
                a.key,
                a.source,
                f"x{a.factor:g}",
                "yes" if a.in_force else "no",
                f"{a.expires_at:%Y-%m-%d %H:%M}",
                ", ".join(a.assets + a.kinds),
                a.reason,
            )
            for a in rows
        ],
    )


@advisory_app.command("record")
@console.handle_errors
def record(
    key: str = typer.Argument(..., help="A key for the advisory, e.g. cve-2026-1234."),
    reason: str = typer.Option(..., help="Why the likelihood rises; shown with it."),
    factor: float = typer.Option(..., help="Multiplies the affected failure rates (> 1)."),
    expires: str = typer.Option(..., help="When it lapses (ISO 8601 with offset)."),
    asset: list[str] = typer.Option([], "--asset", help="An affected asset (repeat)."),
    kind: list[str] = typer.Option([], "--kind", help="An affected asset kind (repeat)."),
    source: str = typer.Option("advisory", help="advisory or supply_chain."),
    reference: str = typer.Option("", help="E.g. a CVE id or vendor bulletin."),
    software: str = typer.Option("", help="The affected software or product and version."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Record an advisory or supply-chain alert raising likelihoods until it expires."""
    request = console.validated(
        AdvisoryCreate,
        key=key,
        reason=reason,
        factor=factor,
        expires_at=expires,
        assets=asset,
        kinds=kind,
        source=source,
        reference=reference,
        software=software,
    )
    with console.session() as session:
        row = service.record_advisory(
            session, clock=console.clock(), request=request, actor=console.actor(as_person)
        )
        console.out.print(f"advisory {row.key}: x{row.factor:g} until {row.expires_at:%Y-%m-%d}")


@advisory_app.command("withdraw")
@console.handle_errors
def withdraw(
    key: str = typer.Argument(..., help="The advisory key."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Withdraw an advisory so it no longer raises likelihoods."""
    with console.session() as session:
        row = service.withdraw_advisory(
            session, clock=console.clock(), key=key, actor=console.actor(as_person)
        )
        console.out.print(f"advisory {row.key}: withdrawn")
