"""STIX 2.1 bundles of cyber incidents, without I/O: what a recipient may see, marked with TLP 2.0.

A bundle holds the producer ``identity``, the ``incident``, a ``note`` for each signal and note
the recipient may read, an ``observed-data`` with its cyber observables for each record that
names any (and for each evidence file), an ``indicator`` per observable with its ``sighting``,
the ``relationship`` objects tying them to the incident, and the official TLP 2.0
``marking-definition`` of the incident's label, which marks every other object.

Observables come from two places: a note line ``IOC: <kind> <value>`` (kinds in ``KINDS``) and
the IPv4 and MAC addresses a signal's detail names. Every id is a UUIDv5 of stable keys (cyber
observables use the STIX namespace and their id-contributing properties), so exporting the same
incident again gives the same objects.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from coherence.access.domain import DataCategory, Tlp

SPEC_VERSION = "2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
# Incident categories that are cyber incidents and so are shared as STIX.
CYBER_CATEGORIES = frozenset({"control_system_cyber"})
# Ids of SDOs and SROs: UUIDv5 in a namespace of our own, from stable keys.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:coherence:stix:2.1")
# The namespace STIX 2.1 (section 2.9) fixes for deterministic cyber-observable ids.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
# The producer's identity never changes, so every export carries the same version of it.
IDENTITY_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# The TLP 2.0 marking definitions OASIS publishes (cti-stix-common-objects, tlp-2.0).
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_CREATED = "2022-10-01T00:00:00.000Z"
TLP_MARKINGS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def tlp_marking(label: Tlp) -> dict[str, Any]:
    """Return the official TLP 2.0 marking-definition object for ``label``."""
    return {
        "type": "marking-definition",
        "spec_version": SPEC_VERSION,
        "id": TLP_MARKINGS[label],
        "created": TLP_CREATED,
        "name": f"TLP:{label.value}",
        "extensions": {
            TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label.value.lower()}
        },
    }


def label_of(marking_refs: Iterable[str]) -> Tlp | None:
    """Return the TLP label among ``marking_refs``, the most restrictive if several."""
    labels = [label for label, ref in TLP_MARKINGS.items() if ref in set(marking_refs)]
    return max(labels, key=lambda label: label.rank) if labels else None


def stamp(moment: datetime) -> str:
    """Return a STIX timestamp in UTC with millisecond precision."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_stamp(text: str) -> datetime:
    """Read a STIX or TAXII timestamp (``2026-01-05T10:00:00.000Z``); raise ValueError if not."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", text):
        raise ValueError(f"{text!r} is not a timestamp like 2026-01-05T10:00:00.000Z")
    whole, _, fraction = text[:-1].partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))


def _id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, key)}"


def _canonical(value: Any) -> str:
    """JSON as RFC 8785 writes it for these values: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- cyber observables ----------------------------------------------------------------------


def _ip(version: int) -> Callable[[str], str]:
    def check(raw: str) -> str:
        found = ipaddress.ip_network(raw, strict=False) if "/" in raw else ipaddress.ip_address(raw)
        if found.version != version:
            raise ValueError(f"not an IPv{version} address")
        return str(found)

    return check


def _matching(pattern: str, normal: Callable[[str], str] = str) -> Callable[[str], str]:
    def check(raw: str) -> str:
        value = normal(raw)
        if not re.fullmatch(pattern, value):
            raise ValueError(f"does not match {pattern}")
        return value

    return check


def _url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https", "ftp"} or not parts.netloc or len(raw) > 2048:
        raise ValueError("not an http, https or ftp URL")
    return raw


# Note syntax ``IOC: <kind> <value>``: the kind is the STIX type (``file`` takes a SHA-256),
# mapped to the property a pattern tests and the check that normalises the value.
KINDS: dict[str, tuple[str, Callable[[str], str]]] = {
    "ipv4-addr": ("value", _ip(4)),
    "ipv6-addr": ("value", _ip(6)),
    "domain-name": (
        "value",
        _matching(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", str.lower),
    ),
    "url": ("value", _url),
    "mac-addr": (
        "value",
        _matching(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", lambda v: v.lower().replace("-", ":")),
    ),
    "email-addr": ("value", _matching(r"[^@\s'\"\\]{1,64}@[a-zA-Z0-9.-]{1,253}\.[a-zA-Z]{2,63}")),
    "file": ("hashes.'SHA-256'", _matching(r"[0-9a-f]{64}", str.lower)),
    "user-account": ("account_login", _matching(r"[\w.@$-]{1,64}")),
}
_NOTE_IOC = re.compile(r"^\s*ioc\s*:\s*(?P<kind>[a-z0-9-]+)\s+(?P<value>\S+)\s*$", re.I | re.M)
_SIGNAL_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?!\d|\.\d)")
_SIGNAL_MAC = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}(?![0-9A-Fa-f:])")


@dataclass(frozen=True, order=True)
class Observable:
    """One cyber observable: its kind (a key of ``KINDS``) and its checked, normal value."""

    kind: str
    value: str

    @property
    def sco_id(self) -> str:
        """The deterministic STIX id: UUIDv5 of the id-contributing properties (spec 2.9)."""
        return f"{self.kind}--{uuid.uuid5(SCO_NAMESPACE, _canonical(self._contributing()))}"

    def _contributing(self) -> dict[str, Any]:
        if self.kind == "file":
            return {"hashes": {"SHA-256": self.value}}
        return {KINDS[self.kind][0]: self.value}

    @property
    def pattern(self) -> str:
        """A STIX pattern matching the observable."""
        escaped = self.value.replace("\\", "\\\\").replace("'", "\\'")
        return f"[{self.kind}:{KINDS[self.kind][0]} = '{escaped}']"

    def sco(self, marking: str) -> dict[str, Any]:
        """Return the cyber-observable object."""
        return {
            "type": self.kind,
            "spec_version": SPEC_VERSION,
            "id": self.sco_id,
            **self._contributing(),
            "object_marking_refs": [marking],
        }


def observable(kind: str, raw: str) -> Observable | None:
    """Return the observable, or None if the kind is unknown or the value does not parse."""
    found = KINDS.get(kind.lower())
    if found is None:
        return None
    try:
        return Observable(kind.lower(), found[1](raw))
    except ValueError:
        return None


def note_observables(text: str) -> list[Observable]:
    """The observables a note declares, one ``IOC: <kind> <value>`` line each, in order."""
    found = (observable(m["kind"], m["value"]) for m in _NOTE_IOC.finditer(text))
    return _unique(o for o in found if o is not None)


def signal_observables(text: str) -> list[Observable]:
    """The IPv4 and MAC addresses a signal's detail names, in order."""
    found = [observable("ipv4-addr", m.group()) for m in _SIGNAL_IPV4.finditer(text)]
    found += [observable("mac-addr", m.group()) for m in _SIGNAL_MAC.finditer(text)]
    return _unique(o for o in found if o is not None)


def _unique(items: Iterable[Observable]) -> list[Observable]:
    return list(dict.fromkeys(items))


# --- what an incident records -----------------------------------------------------------------


class RecordKind(StrEnum):
    """The timeline records a bundle draws on."""

    SIGNAL = "signal"
    NOTE = "note"


@dataclass(frozen=True)
class Record:
    """A signal or note of the incident's timeline (one ledger entry)."""

    seq: int
    kind: RecordKind
    text: str
    at: datetime
    category: DataCategory = DataCategory.OPERATIONAL

    def observables(self) -> list[Observable]:
        """The observables the record names."""
        if self.kind is RecordKind.NOTE:
            return note_observables(self.text)
        return signal_observables(self.text)


@dataclass(frozen=True)
class FileRecord:
    """An evidence file of the incident: its name, digest and size, never its content."""

    key: str
    name: str
    sha256: str
    size: int
    at: datetime
    tlp: Tlp
    category: DataCategory = DataCategory.OPERATIONAL


@dataclass(frozen=True)
class IncidentView:
    """The incident's own fields a bundle carries."""

    reference: str
    title: str
    summary: str
    category: str
    severity: str
    status: str
    kind: str
    tlp: Tlp
    asset: str
    asset_name: str
    asset_kind: str
    site: str
    detected_at: datetime
    updated_at: datetime
    # When the label last changed: every object's version moves with its marking.
    labelled_at: datetime | None = None


@dataclass(frozen=True)
class Source:
    """Everything a bundle of one incident is built from."""

    producer: str
    producer_name: str
    incident: IncidentView
    records: tuple[Record, ...] = ()
    files: tuple[FileRecord, ...] = ()


@dataclass(frozen=True)
class StixObject:
    """One object of a bundle, when its information last changed, and the entries it draws on."""

    body: dict[str, Any]
    added: datetime
    seqs: frozenset[int] = frozenset()

    @property
    def id(self) -> str:
        """The object's STIX id."""
        return str(self.body["id"])

    @property
    def version(self) -> str:
        """The object's version: ``modified``, else ``created``, else when it was added."""
        return str(self.body.get("modified") or self.body.get("created") or stamp(self.added))


@dataclass(frozen=True)
class Bundle:
    """A bundle for one recipient, and the data categories it carries."""

    id: str
    objects: list[StixObject]
    categories: frozenset[DataCategory]
    seqs: frozenset[int] = field(default_factory=frozenset)

    def document(self) -> dict[str, Any]:
        """The STIX bundle as JSON-ready data."""
        return {"type": "bundle", "id": self.id, "objects": [o.body for o in self.objects]}

    def content(self) -> bytes:
        """The bundle as canonical JSON bytes (what is sent and hashed)."""
        return _canonical(self.document()).encode()


def is_cyber(category: str) -> bool:
    """Whether incidents of ``category`` are cyber incidents, shared as STIX."""
    return category in CYBER_CATEGORIES


def build_bundle(source: Source, *, categories: frozenset[DataCategory], recipient: str) -> Bundle:
    """Return the bundle of ``source`` as a recipient entitled to ``categories`` may see it.

    Records and files of other categories are left out, and so are files labelled above the
    incident. Everything is marked with the incident's TLP label.
    """
    builder = _Builder(source)
    shown = {DataCategory.OPERATIONAL}
    for record in source.records:
        if record.category in categories:
            builder.add_record(record)
            shown.add(record.category)
    for item in source.files:
        if item.category in categories and item.tlp.rank <= source.incident.tlp.rank:
            builder.add_file(item)
            shown.add(item.category)
    objects = list(builder.objects.values())
    versions = "\n".join(sorted(f"{o.id}|{o.version}" for o in objects))
    digest = hashlib.sha256(versions.encode()).hexdigest()
    return Bundle(
        id=_id("bundle", f"bundle:{recipient}:{digest}"),
        objects=objects,
        categories=frozenset(shown),
        seqs=frozenset(builder.seqs),
    )


class _Builder:
    """Collects one incident's objects; each SDO or SRO's key makes its id."""

    def __init__(self, source: Source) -> None:
        incident = source.incident
        self.labelled_at = incident.labelled_at
        self.marking = TLP_MARKINGS[incident.tlp]
        self.identity = _id("identity", f"identity:{source.producer}")
        self.key = f"{source.producer}:{incident.reference}"
        self.reference = incident.reference
        self.incident = _id("incident", f"incident:{self.key}")
        self.seqs: set[int] = set()
        self.objects: dict[str, StixObject] = {}
        self._add(tlp_marking(incident.tlp), incident.detected_at)
        identity = self._sdo("identity", self.identity, IDENTITY_EPOCH, incident.detected_at)
        identity |= {"name": source.producer_name, "identity_class": "organization"}
        # One version of the producer for every export: it carries no created_by_ref of its own.
        identity.update(modified=stamp(IDENTITY_EPOCH))
        del identity["created_by_ref"]
        self._sdo("incident", self.incident, incident.detected_at, incident.updated_at).update(
            name=f"{incident.reference}: {incident.title}",
            description=_incident_description(incident),
            labels=sorted({incident.category, incident.severity, incident.status}),
            external_references=[{"source_name": "coherence", "external_id": incident.reference}],
        )

    def add_record(self, record: Record) -> None:
        """A note for the record; observed data, indicators and sightings for its observables."""
        self.seqs.add(record.seq)
        seqs, at = frozenset({record.seq}), record.at
        note = self._sdo("note", _id("note", f"note:{self.key}:{record.seq}"), at, at, seqs)
        note |= {
            "abstract": "Signal raised" if record.kind is RecordKind.SIGNAL else "Note",
            "content": record.text or "(empty)",
            "object_refs": [self.incident],
        }
        found = record.observables()
        if not found:
            return
        key = f"{self.key}:{record.seq}"
        observed = self._observed(key, at, [o.sco(self.marking) for o in found], seqs)
        malicious = record.kind is RecordKind.NOTE
        for item in found:
            indicator = _id("indicator", f"indicator:{key}:{item.pattern}")
            self._sdo("indicator", indicator, at, at, seqs).update(
                name=f"{item.kind} {item.value}",
                description=f"From {record.kind.value} {record.seq} of {self.reference}.",
                indicator_types=["malicious-activity" if malicious else "anomalous-activity"],
                pattern=item.pattern,
                pattern_type="stix",
                pattern_version=SPEC_VERSION,
                valid_from=stamp(at),
            )
            self._relate(indicator, "based-on", observed, at, seqs)
            self._relate(indicator, "related-to", self.incident, at, seqs)
            self._sdo("sighting", _id("sighting", f"sighting:{indicator}"), at, at, seqs).update(
                sighting_of_ref=indicator,
                observed_data_refs=[observed],
                where_sighted_refs=[self.identity],
                first_seen=stamp(at),
                last_seen=stamp(at),
                count=1,
            )

    def add_file(self, item: FileRecord) -> None:
        """Observed data holding the file's name, size and SHA-256 (never its content)."""
        key = {"hashes": {"SHA-256": item.sha256.lower()}, "name": item.name}
        sco = {
            "type": "file",
            "spec_version": SPEC_VERSION,
            "id": f"file--{uuid.uuid5(SCO_NAMESPACE, _canonical(key))}",
            **key,
            "size": item.size,
            "object_marking_refs": [self.marking],
        }
        self._observed(f"{self.key}:{item.key}", item.at, [sco], frozenset())

    def _observed(
        self, key: str, at: datetime, scos: list[dict[str, Any]], seqs: frozenset[int]
    ) -> str:
        for sco in scos:
            self._add(sco, self._modified(at), seqs)
        observed = _id("observed-data", f"observed:{key}")
        self._sdo("observed-data", observed, at, at, seqs).update(
            first_observed=stamp(at),
            last_observed=stamp(at),
            number_observed=1,
            object_refs=[sco["id"] for sco in scos],
        )
        self._relate(observed, "related-to", self.incident, at, seqs)
        return observed

    def _relate(
        self, source: str, kind: str, target: str, at: datetime, seqs: frozenset[int]
    ) -> None:
        key = f"relationship:{source}:{kind}:{target}"
        self._sdo("relationship", _id("relationship", key), at, at, seqs).update(
            relationship_type=kind, source_ref=source, target_ref=target
        )

    def _sdo(
        self,
        kind: str,
        object_id: str,
        created: datetime,
        changed: datetime,
        seqs: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        """Add an SDO or SRO with the common properties; return its body to fill in."""
        body: dict[str, Any] = {
            "type": kind,
            "spec_version": SPEC_VERSION,
            "id": object_id,
            "created_by_ref": self.identity,
            "created": stamp(created),
            "modified": stamp(self._modified(changed)),
            "object_marking_refs": [self.marking],
        }
        self._add(body, self._modified(changed), seqs)
        return body

    def _modified(self, at: datetime) -> datetime:
        # A new label is a new marking, and so a new version of every object it marks.
        return max(at, self.labelled_at) if self.labelled_at is not None else at

    def _add(
        self, body: dict[str, Any], added: datetime, seqs: frozenset[int] = frozenset()
    ) -> None:
        known = self.objects.get(body["id"])
        if known is not None:
            added, seqs = min(added, known.added), seqs | known.seqs
        self.objects[body["id"]] = StixObject(body, added, seqs)


def _incident_description(incident: IncidentView) -> str:
    lines = [incident.summary.strip()] if incident.summary.strip() else []
    lines.append(
        f"Affected asset: {incident.asset_name} ({incident.asset}, a {incident.asset_kind}) "
        f"at site {incident.site}. Category {incident.category}, severity {incident.severity}, "
        f"phase {incident.status}, {incident.kind} incident, TLP:{incident.tlp.value}."
    )
    return "\n\n".join(lines)
