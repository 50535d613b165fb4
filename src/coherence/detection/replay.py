"""Recorded telemetry to samples: Bluefors log folders, qubit calibrations, NDJSON files.

Pure over the files it is given: nothing here touches the database or the network.
"""

from __future__ import annotations

from pathlib import Path

from coherence.detection.formats import parse_ndjson
from coherence.detection.parsing import MAX_ITEMS, ReplayResult
from coherence.detection.replay_bluefors import DEFAULT_CHANNELS, read_bluefors
from coherence.detection.replay_calibration import read_google_calibration, read_ibm_props
from coherence.errors import NotFound, ValidationFailed

__all__ = [
    "DEFAULT_CHANNELS",
    "ReplayResult",
    "read_bluefors",
    "read_google_calibration",
    "read_ibm_props",
    "read_ndjson_file",
]


def read_ndjson_file(path: Path) -> ReplayResult:
    """Read an NDJSON file of sample objects; bad lines are listed as ``file:line: reason``."""
    if not path.is_file():
        raise NotFound(f"no such file: {path}", field="file")
    lines = path.read_bytes().removeprefix(b"\xef\xbb\xbf").splitlines()
    result = ReplayResult()
    # A recorded file may be far longer than one request may be: read it in request-sized runs.
    for start in range(0, len(lines), MAX_ITEMS):
        chunk = lines[start : start + MAX_ITEMS]
        try:
            samples, rejections = parse_ndjson(b"\n".join(chunk))
        except ValidationFailed:
            result.blank_lines += len(chunk)
            continue
        result.blank_lines += sum(1 for line in chunk if not line.strip())
        result.samples.extend(samples)
        result.skipped.extend(
            f"{path.name}:{start + r.index + 1}: {r.field}: {r.message}" for r in rejections
        )
    return result.sort()
