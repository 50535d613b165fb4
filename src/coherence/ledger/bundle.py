"""Ledger bundles: a range of entries with the checkpoints that sign them, checked offline.

A bundle holds entries ``first`` to ``first + n - 1`` as their canonical bytes, the hash each
had when it was recorded, the right-edge hashes of the tree before ``first`` and every signed
checkpoint in the range. Checking needs only the bundle and the log's verifier key: the key
proves the checkpoints, and the checkpoints prove the entries.

The layout is binary so that checking costs little more than hashing: the line
``coherence-ledger-bundle/3``, one line of JSON (origin, first, prefix, checkpoints), then per
entry a 4-byte big-endian length, the 32-byte recorded leaf hash (zeros if none was recorded)
and the entry's bytes.

An entry whose payload retention purged has length 0 and no bytes: its content is gone and
its recorded leaf stands in for it. Canonical entry bytes are never empty, so 0 cannot be
anything else. Such an entry only passes if a later ``retention:purged`` entry in the bundle,
itself proved by the signed roots, names it; otherwise marking an entry purged would hide an
edit. Version 2 bundles (no purged entries) are still read.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from coherence.ledger import merkle, note
from coherence.ledger.domain import EntryType

FORMAT = "coherence-ledger-bundle/3"
MAGIC = FORMAT.encode() + b"\n"
# Version 2 had no purged entries; its bundles still verify.
READABLE = {MAGIC: True, b"coherence-ledger-bundle/2\n": False}
NO_LEAF = bytes(merkle.HASH_SIZE)
_ENTRY = struct.Struct(">I32s")
# Canonical JSON sorts keys and "type" sorts last, so a purge notice ends with these bytes:
# a cheap test that spares parsing every entry.
_PURGE_SUFFIX = b'"type":"' + EntryType.RETENTION_PURGED.value.encode() + b'"}'


@dataclass
class Verdict:
    """What checking a bundle found: ``ok``, or the first bad entry and what is wrong."""

    ok: bool
    origin: str = ""
    first: int = 0
    size: int = 0
    entries_checked: int = 0
    checkpoints_checked: int = 0
    first_bad_seq: int | None = None
    problem: str = ""
    entries_purged: int = 0
    purged: str = ""


def encode(header: dict[str, Any], entries: Iterable[tuple[bytes | None, bytes | None]]) -> bytes:
    """Lay out a bundle: the header, then each (entry bytes or None if purged, recorded leaf)."""
    parts = [MAGIC, orjson.dumps(header), b"\n"]
    for raw, leaf in entries:
        parts.append(_ENTRY.pack(len(raw or b""), leaf or NO_LEAF))
        if raw:
            parts.append(raw)
    return b"".join(parts)


def verify(data: bytes, verifier_key: str) -> Verdict:
    """Check a bundle against the log's verifier key; never raises on a bad bundle."""
    magic = data[: data.find(b"\n") + 1]
    end = data.find(b"\n", len(magic))
    if magic not in READABLE or end < 0:
        return Verdict(False, problem=f"not a {FORMAT} file")
    try:
        header = orjson.loads(data[len(magic) : end])
        if not isinstance(header, dict):
            raise TypeError("the header is not a JSON object")
        header["body"] = (data, end + 1)
        header["purgeable"] = READABLE[magic]
        return _verify(header, verifier_key)
    except (KeyError, TypeError, ValueError, binascii.Error, struct.error) as exc:
        return Verdict(False, problem=f"malformed bundle: {type(exc).__name__}: {exc}")


def _entries(data: bytes, start: int) -> Iterator[tuple[bytes, bytes]]:
    offset, size, unpack = start, len(data), _ENTRY.unpack_from
    while offset < size:
        length, leaf = unpack(data, offset)
        offset += _ENTRY.size
        if offset + length > size:
            raise ValueError("the last entry is cut short")
        yield data[offset : offset + length], leaf
        offset += length


def _verify(bundle: dict[str, Any], verifier_key: str) -> Verdict:
    first = int(bundle["first"])
    verdict = Verdict(False, origin=str(bundle.get("origin", "")), first=first)
    signed: list[note.Checkpoint] = []
    for index, text in enumerate(bundle["checkpoints"]):
        try:
            signed.append(note.parse_checkpoint(note.open_note(text, [verifier_key])))
        except note.NoteError as exc:
            verdict.problem = f"checkpoint {index} is not signed by this key: {exc}"
            return verdict
    if not signed:
        verdict.problem = "the bundle has no checkpoint"
        return verdict
    sizes = [c.size for c in signed]
    if (
        sizes != sorted(set(sizes))
        or sizes[0] <= first
        or any(c.origin != signed[0].origin for c in signed)
    ):
        verdict.problem = "checkpoints are out of order, repeated, before the range or mixed"
        return verdict
    verdict.origin, verdict.size = signed[0].origin, sizes[-1]
    prefix = [_hash(h) for h in bundle["prefix"]]
    # The signed roots alone decide; the slower per-entry checks only run to name the first
    # bad entry once something failed.
    checked = _walk(Verdict(False, verdict.origin, first, verdict.size), bundle, signed, prefix)
    if checked.ok:
        return _check_purges(checked, bundle)
    return _walk(verdict, bundle, signed, prefix, diagnose=True)


def _walk(
    verdict: Verdict,
    bundle: dict[str, Any],
    signed: list[note.Checkpoint],
    prefix: list[bytes],
    *,
    diagnose: bool = False,
) -> Verdict:
    first = verdict.first
    frontier = merkle.Frontier.from_state(first, prefix)
    pending = iter(signed)
    target = next(pending)
    checked_from = first
    leaf_hash, push = merkle.leaf_hash, frontier.push
    purgeable = bool(bundle.get("purgeable"))
    purged: list[int] = []
    notices: list[tuple[int, bytes]] = []
    # Where the run of purged entries just before this one began: they carry no seq.
    run_start: int | None = None
    for count, (raw, recorded) in enumerate(_entries(*bundle["body"]), start=1):
        if raw or not purgeable:
            leaf = leaf_hash(raw)
            if raw.endswith(_PURGE_SUFFIX):
                notices.append((first + count - 1, raw))
        else:
            # Content purged under retention: the leaf recorded at append stands in for it.
            leaf = recorded
            purged.append(first + count - 1)
        if diagnose and not raw and run_start is None:
            run_start = first + count - 1
        elif diagnose and raw:
            expected = first + count - 1
            found = orjson.loads(raw).get("seq")
            if found != expected and run_start is not None:
                return _bad(
                    verdict,
                    run_start,
                    f"entries {run_start}..{expected} are missing or out of order (found "
                    f"{found} at {expected}, after purged entries that carry no seq): "
                    "rows deleted or reordered",
                )
            if found != expected:
                return _bad(
                    verdict,
                    expected,
                    f"entry {expected} is missing or out of order "
                    f"(found {found} in its place): rows deleted or reordered",
                )
            run_start = None
            if recorded != NO_LEAF and recorded != leaf:
                return _bad(
                    verdict, expected, f"entry {expected} was changed after it was recorded"
                )
        push(leaf)
        if frontier.size == target.size:
            if frontier.root() != target.root:
                return _bad(
                    verdict,
                    checked_from,
                    f"entries {checked_from}..{frontier.size - 1} do not "
                    f"match the checkpoint signed at size {target.size}: one was altered",
                )
            verdict.checkpoints_checked += 1
            checked_from = frontier.size
            following = next(pending, None)
            if following is None:
                break
            target = following
    verdict.entries_checked = frontier.size - first
    if frontier.size < verdict.size:
        return _bad(
            verdict,
            frontier.size,
            f"the log is truncated: the checkpoint covers "
            f"{verdict.size} entries, the bundle ends after {frontier.size}",
        )
    # Only entries the signed roots proved count: anything past the last checkpoint is ignored.
    bundle["purged"] = [seq for seq in purged if seq < frontier.size]
    bundle["notices"] = [(seq, raw) for seq, raw in notices if seq < frontier.size]
    verdict.ok = True
    return verdict


def _check_purges(verdict: Verdict, bundle: dict[str, Any]) -> Verdict:
    """Fail on a purged entry that no later, signed ``retention:purged`` entry names."""
    purged: list[int] = bundle["purged"]
    verdict.entries_purged, verdict.purged = len(purged), compact_ranges(purged)
    if not purged:
        return verdict
    backed = Ranges(
        # A notice can only vouch for entries before it: purges are recorded after the fact.
        (low, min(high, seq - 1))
        for seq, raw in bundle["notices"]
        for low, high in _named(raw)
    )
    for seq in purged:
        if seq not in backed:
            verdict.ok = False
            return _bad(
                verdict,
                seq,
                f"entry {seq} has no content but no later retention:purged entry names it: "
                "its content was removed outside retention",
            )
    return verdict


def _named(raw: bytes) -> list[tuple[int, int]]:
    """The ranges a ``retention:purged`` entry names; none if it is not one or is malformed."""
    entry = orjson.loads(raw)
    payload = entry.get("payload")
    if entry.get("type") != EntryType.RETENTION_PURGED.value or not isinstance(payload, dict):
        return []
    try:
        return parse_ranges(str(payload.get("entries", "")))
    except ValueError:
        return []


def _bad(verdict: Verdict, seq: int, problem: str) -> Verdict:
    verdict.first_bad_seq, verdict.problem = seq, problem
    return verdict


def _hash(text: str) -> bytes:
    value = base64.b64decode(text, validate=True)
    if len(value) != merkle.HASH_SIZE:
        raise ValueError(f"a hash must be {merkle.HASH_SIZE} bytes")
    return value


class Ranges:
    """A set of sequence numbers held as sorted, merged, inclusive ranges."""

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        self._lows: list[int] = []
        self._highs: list[int] = []
        for low, high in sorted(p for p in pairs if p[0] <= p[1]):
            if self._highs and low <= self._highs[-1] + 1:
                self._highs[-1] = max(self._highs[-1], high)
            else:
                self._lows.append(low)
                self._highs.append(high)

    def __contains__(self, seq: object) -> bool:
        if not isinstance(seq, int):
            return False
        at = bisect.bisect_right(self._lows, seq) - 1
        return at >= 0 and seq <= self._highs[at]


def compact_ranges(seqs: Iterable[int]) -> str:
    """Write sequence numbers as compact ranges: ``3-7,9,12-15``."""
    parts: list[str] = []
    run: list[int] = []
    for seq in sorted(set(seqs)):
        if run and seq == run[-1] + 1:
            run[-1] = seq
            continue
        if run:
            parts.append(_range_text(*run))
        run = [seq, seq]
    if run:
        parts.append(_range_text(*run))
    return ",".join(parts)


def parse_ranges(text: str) -> list[tuple[int, int]]:
    """Read ``3-7,9`` back as [(3, 7), (9, 9)]; raise ValueError on anything else."""
    if not text:
        return []
    ranges = []
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdecimal() or (dash and not high.isdecimal()):
            raise ValueError(f"not a range of entries: {part!r}")
        first, last = int(low), int(high or low)
        if last < first:
            raise ValueError(f"range {part!r} runs backwards")
        ranges.append((first, last))
    return ranges


def _range_text(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"
