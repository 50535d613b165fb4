"""`coherence telemetry`: replay recorded telemetry through the detector."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from coherence import console
from coherence.db import ensure_migrated, make_engine, make_session_factory
from coherence.detection import replay
from coherence.detection.parsing import MAX_ITEMS, ReplayResult
from coherence.detection.pipeline import IngestReport, Pipeline
from coherence.errors import NotFound, ValidationFailed
from coherence.evidence.store import LocalStore
from coherence.incidents.domain import reference

app = typer.Typer(help="Replay recorded telemetry through the detector.", no_args_is_help=True)


class ReplayFormat(StrEnum):
    """Recorded telemetry Coherence can read."""

    BLUEFORS = "bluefors"
    IBM = "ibm"
    GOOGLE = "google"
    NDJSON = "ndjson"


def _read(
    path: Path, fmt: ReplayFormat, *, site: str, asset: str, tz: str, at: float | None
) -> ReplayResult:
    if fmt is ReplayFormat.NDJSON:
        return replay.read_ndjson_file(path)
    if fmt is ReplayFormat.BLUEFORS:
        if not path.is_dir():
            raise NotFound(f"{path} is not a folder of Bluefors day folders", field="path")
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(f"unknown time zone {tz!r}", field="tz") from None
        return replay.read_bluefors(path, site=site, asset=asset, tz=zone)
    if not path.is_file():
        raise NotFound(f"no such file: {path}", field="path")
    if fmt is ReplayFormat.IBM:
        return replay.read_ibm_props(path.read_bytes(), site=site, asset=asset)
    return replay.read_google_calibration(path.read_bytes(), site=site, asset=asset, timestamp=at)


@app.command("replay")
@console.handle_errors
def replay_command(
    path: Path = typer.Argument(..., help="File or (for bluefors) folder to replay."),
    fmt: ReplayFormat = typer.Option(..., "--format", help="bluefors, ibm, google or ndjson."),
    site: str = typer.Option("", help="Site of the asset (not needed for ndjson)."),
    asset: str = typer.Option("", help="Asset the recording belongs to (not for ndjson)."),
    tz: str = typer.Option("UTC", help="Time zone the Bluefors logs were written in."),
    at: float | None = typer.Option(
        None, help="Epoch seconds for a Google calibration that carries no time."
    ),
    json: bool = console.JSON_OPTION,
) -> None:
    """Feed a recording through the detector: rules fire and incidents open as they would live."""
    if fmt is not ReplayFormat.NDJSON and not (site and asset):
        raise ValidationFailed("give --site and --asset for this format", field="asset")
    result = _read(path, fmt, site=site, asset=asset, tz=tz, at=at)
    settings = console.load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        ensure_migrated(engine)
        pipeline = Pipeline(
            make_session_factory(engine),
            clock=console.clock(),
            store=LocalStore(settings.resolved_evidence_dir),
            evidence_max_samples=settings.evidence_max_samples,
        )
        total = IngestReport()
        for start in range(0, len(result.samples), MAX_ITEMS):
            report = pipeline.ingest(result.samples[start : start + MAX_ITEMS])
            total.accepted += report.accepted
            total.rejected += report.rejected
            total.opened += [i for i in report.opened if i not in total.opened]
            total.updated += [i for i in report.updated if i not in total.updated + total.opened]
    finally:
        engine.dispose()
    opened = [reference(i) for i in total.opened]
    updated = [reference(i) for i in total.updated]
    problems = result.skipped[:20] + [f"sample {r.index}: {r.message}" for r in total.rejected[:20]]
    summary = {
        "read": len(result.samples),
        "skipped_lines": len(result.skipped),
        "accepted": total.accepted,
        "rejected": len(total.rejected),
        "incidents_opened": [reference(i) for i in total.opened],
        "incidents_updated": [reference(i) for i in total.updated],
        "problems": result.skipped[:20]
        + [f"sample {r.index}: {r.message}" for r in total.rejected[:20]],
    }
    if json:
        console.print_json(summary)
        return
    console.out.print(
        f"read {summary['read']} samples ({summary['skipped_lines']} lines skipped); "
        f"accepted {total.accepted}, rejected {len(total.rejected)}"
    )
    for problem in problems:
        console.out.print(f"  - {problem}")
    console.out.print(
        f"incidents opened: {', '.join(opened) or 'none'}; updated: {', '.join(updated) or 'none'}"
    )
