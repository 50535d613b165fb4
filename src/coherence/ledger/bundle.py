"""Ledger bundles: a range of entries with the checkpoints that sign them, checked offline.

A bundle holds entries ``first`` to ``first + n - 1`` as their canonical bytes, the hash each
had when it was recorded, the right-edge hashes of the tree before ``first`` and every signed
checkpoint in the range. Checking needs only the bundle and the log's verifier key: the key
proves the checkpoints, and the checkpoints prove the entries.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from coherence.ledger import merkle, note

FORMAT = "coherence-ledger-bundle/1"


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
    notes: list[str] = field(default_factory=list)


def verify(data: bytes, verifier_key: str) -> Verdict:
    """Check a bundle against the log's verifier key; never raises on a bad bundle."""
    try:
        bundle = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Verdict(False, problem=f"not a bundle: {exc}")
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        return Verdict(False, problem=f"not a {FORMAT} file")
    try:
        return _verify(bundle, verifier_key)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        return Verdict(False, problem=f"malformed bundle: {type(exc).__name__}: {exc}")


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
    entries = bundle["entries"]
    pending = iter(signed)
    target = next(pending)
    checked_from = first
    leaf_hash, decode = merkle.leaf_hash, base64.b64decode
    for position, item in enumerate(entries):
        expected = first + position
        if item["seq"] != expected:
            return _bad(
                verdict,
                expected,
                f"entry {expected} is missing or out of order "
                f"(found {item['seq']} in its place): rows deleted or reordered",
            )
        raw = decode(item["entry"], validate=True)
        leaf = leaf_hash(raw)
        if diagnose:
            if orjson.loads(raw).get("seq") != expected:
                return _bad(verdict, expected, f"entry {expected} carries another sequence number")
            if "leaf" in item and _hash(item["leaf"]) != leaf:
                return _bad(
                    verdict, expected, f"entry {expected} was changed after it was recorded"
                )
        frontier.push(leaf)
        if frontier.size == target.size:
            if frontier.root() != target.root:
                return _bad(
                    verdict,
                    checked_from,
                    f"entries {checked_from}..{expected} do not "
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
    if len(entries) > verdict.size - first:
        verdict.notes.append(
            f"{len(entries) - (verdict.size - first)} entries after the last "
            "checkpoint were not checked"
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
