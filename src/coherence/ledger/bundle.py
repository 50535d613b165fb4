"""Ledger bundles: a range of entries with the checkpoints that sign them, checked offline.

A bundle holds entries ``first`` to ``first + n - 1`` as their canonical bytes, the hash each
had when it was recorded, the right-edge hashes of the tree before ``first`` and every signed
checkpoint in the range. Checking needs only the bundle and the log's verifier key: the key
proves the checkpoints, and the checkpoints prove the entries.

The layout is binary so that checking costs little more than hashing: the line
``coherence-ledger-bundle/2``, one line of JSON (origin, first, prefix, checkpoints), then per
entry a 4-byte big-endian length, the 32-byte recorded leaf hash (zeros if none was recorded)
and the entry's bytes.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from coherence.ledger import merkle, note

FORMAT = "coherence-ledger-bundle/2"
MAGIC = FORMAT.encode() + b"\n"
NO_LEAF = bytes(merkle.HASH_SIZE)
_ENTRY = struct.Struct(">I32s")


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


def encode(header: dict[str, Any], entries: Iterable[tuple[bytes, bytes | None]]) -> bytes:
    """Lay out a bundle: the header, then each (entry bytes, recorded leaf hash)."""
    parts = [MAGIC, orjson.dumps(header), b"\n"]
    for raw, leaf in entries:
        parts.append(_ENTRY.pack(len(raw), leaf or NO_LEAF))
        parts.append(raw)
    return b"".join(parts)


def verify(data: bytes, verifier_key: str) -> Verdict:
    """Check a bundle against the log's verifier key; never raises on a bad bundle."""
    end = data.find(b"\n", len(MAGIC))
    if not data.startswith(MAGIC) or end < 0:
        return Verdict(False, problem=f"not a {FORMAT} file")
    try:
        header = orjson.loads(data[len(MAGIC) : end])
        if not isinstance(header, dict):
            raise TypeError("the header is not a JSON object")
        header["body"] = (data, end + 1)
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
        return checked
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
    for count, (raw, recorded) in enumerate(_entries(*bundle["body"]), start=1):
        leaf = leaf_hash(raw)
        if diagnose:
            expected = first + count - 1
            found = orjson.loads(raw).get("seq")
            if found != expected:
                return _bad(
                    verdict,
                    expected,
                    f"entry {expected} is missing or out of order "
                    f"(found {found} in its place): rows deleted or reordered",
                )
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
    verdict.ok = True
    return verdict


def _bad(verdict: Verdict, seq: int, problem: str) -> Verdict:
    verdict.first_bad_seq, verdict.problem = seq, problem
    return verdict


def _hash(text: str) -> bytes:
    value = base64.b64decode(text, validate=True)
    if len(value) != merkle.HASH_SIZE:
        raise ValueError(f"a hash must be {merkle.HASH_SIZE} bytes")
    return value
