"""`coherence retention`: see what the retention policy would purge now, and purge it."""

from __future__ import annotations

from typing import Any

import typer

from coherence import console
from coherence.access import retention, retention_service
from coherence.db import ensure_migrated, make_engine, make_session_factory
from coherence.evidence.store import LocalStore
from coherence.ledger.bundle import compact_ranges

app = typer.Typer(
    help="Retention: purge content past its period; the ledger keeps its hashes and verifies.",
    no_args_is_help=True,
)


@app.command("plan")
@console.handle_errors
def plan(json: bool = console.JSON_OPTION) -> None:
    """Show the policy and what a run would purge now, by category; changes nothing."""
    settings = console.load_settings()
    policy = retention.load_policy(settings.retention_file)
    with console.session() as session:
        batches = retention_service.plan(session, clock=console.clock(), policy=policy)
    rows: list[dict[str, Any]] = []
    for category in policy.days:
        mine = [b for b in batches if b.category is category]
        entries = [seq for b in mine for seq in b.entries]
        rows.append(
            {
                "category": category.value,
                "days": policy.days[category],
                "entries": len(entries),
                "entry_seqs": compact_ranges(entries),
                "evidence": [item for b in mine for item in b.evidence],
            }
        )
    if json:
        console.print_json({"policy": policy.source, "due": rows})
        return
    console.out.print(f"policy: {policy.source}")
    console.print_table(
        "Due for purging now",
        ["category", "keep (days)", "ledger entries", "evidence items"],
        [
            (
                r["category"],
                r["days"] if r["days"] is not None else "forever",
                f"{r['entries']} ({r['entry_seqs']})" if r["entries"] else "0",
                ", ".join(f"#{i}" for i in r["evidence"]) or "0",
            )
            for r in rows
        ],
    )


@app.command("run")
@console.handle_errors
def run(
    yes: bool = typer.Option(False, "--yes", help="Confirm; purged content cannot come back."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Purge everything due now: ledger payloads and evidence bytes (hashes stay)."""
    console.require_yes(
        yes,
        "This purges every ledger payload and evidence item past its retention period; "
        "the content cannot be recovered. See `coherence retention plan` first.",
    )
    settings = console.load_settings()
    policy = retention.load_policy(settings.retention_file)
    engine = make_engine(settings.resolved_database_url)
    try:
        ensure_migrated(engine)
        done = retention_service.run(
            make_session_factory(engine),
            clock=console.clock(),
            policy=policy,
            actor=console.actor(as_person),
            store=LocalStore(settings.resolved_evidence_dir),
        )
        forgotten = retention_service.forget_access_events(
            make_session_factory(engine),
            clock=console.clock(),
            days=settings.access_event_days,
            actor=console.actor(as_person),
        )
    finally:
        engine.dispose()
    console.out.print(
        f"access events older than {settings.access_event_days} days deleted: {forgotten}"
    )
    if not done:
        console.out.print("nothing is due: nothing purged")
    for purged in done:
        console.out.print(
            f"{purged.category.value} ({purged.policy_days} days): "
            f"{len(purged.entries)} ledger entries, {len(purged.evidence)} evidence items "
            f"purged; recorded as ledger entry {purged.seq}"
        )
