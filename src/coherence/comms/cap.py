"""A CAP 1.2 (OASIS Common Alerting Protocol) writer, standard library only.

Times follow CAP 1.2 section 3.3.2: ``YYYY-MM-DDThh:mm:ss`` plus an explicit ``+hh:mm`` or
``-hh:mm`` offset, no fractional seconds, never ``Z``; UTC (any zero offset) is written
``-00:00`` as the specification requires.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from coherence.errors import ValidationFailed

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
# fmt: off
CATEGORIES = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire",
    "Health", "Env", "Transport", "Infra", "CBRNE", "Other",
)
# fmt: on
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

_SEVERITY_MAP: dict[str, tuple[str, str]] = {
    "sev1": ("Immediate", "Extreme"),
    "sev2": ("Immediate", "Severe"),
    "sev3": ("Expected", "Moderate"),
    "sev4": ("Future", "Minor"),
}

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# CAP 1.2: identifier and sender MUST NOT include spaces, commas or restricted characters.
_TOKEN_FORBIDDEN = re.compile(r"[\s,<&]")
# xs:language (RFC 3066 shape).
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


class MsgType(StrEnum):
    """The CAP msgType values this writer emits."""

    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class Scope(StrEnum):
    """The CAP scope: who the alert is meant for."""

    PUBLIC = "Public"
    RESTRICTED = "Restricted"
    PRIVATE = "Private"


@dataclass(frozen=True)
class CapReference:
    """An earlier message this one updates or cancels."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class CapArea:
    """An affected area: polygon ``"lat,lon lat,lon ..."`` (closed), circle ``"lat,lon km"``."""

    description: str
    polygon: str | None = None
    circle: str | None = None


@dataclass(frozen=True)
class CapAlert:
    """One CAP alert message with a single info block."""

    identifier: str
    sender: str
    sent: datetime
    msg_type: MsgType
    scope: Scope
    event: str
    headline: str
    description: str
    instruction: str
    category: str
    urgency: str
    severity: str
    certainty: str
    areas: tuple[CapArea, ...]
    status: str = "Actual"
    addresses: tuple[str, ...] = ()
    restriction: str | None = None
    references: tuple[CapReference, ...] = ()
    language: str = "en-US"
    sender_name: str | None = None
    web: str | None = None
    contact: str | None = None
    expires: datetime | None = None
    note: str | None = None


def cap_severity(severity: str) -> tuple[str, str]:
    """Map a Coherence severity key (sev1..sev4) to a CAP (urgency, severity) pair."""
    try:
        return _SEVERITY_MAP[severity.strip().lower()]
    except KeyError:
        known = ", ".join(_SEVERITY_MAP)
        raise ValidationFailed(
            f"unknown severity {severity!r}; expected one of {known}", field="severity"
        ) from None


def format_time(value: datetime, field: str) -> str:
    """Render an aware datetime as CAP requires (whole seconds, ``-00:00`` for UTC)."""
    offset = value.utcoffset()
    if offset is None:
        raise ValidationFailed(f"{field} must carry a time zone (naive datetime)", field=field)
    if offset % timedelta(minutes=1):
        try:
            value, offset = value.astimezone(UTC), timedelta(0)
        except OverflowError:
            raise ValidationFailed(
                f"{field} is too close to the end of the calendar to express in UTC", field=field
            ) from None
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    local = value.replace(tzinfo=None, microsecond=0).isoformat()
    return f"{local}{sign}{hours:02d}:{mins:02d}"


def _text(value: str, field: str) -> str:
    """Check a text value is not blank and holds only characters XML can carry."""
    if not value.strip():
        raise ValidationFailed(f"{field} must not be empty", field=field)
    bad = _XML_ILLEGAL.search(value)
    if bad:
        raise ValidationFailed(
            f"{field} contains a character XML cannot carry: {bad.group()!r}", field=field
        )
    return value


def _token(value: str, field: str) -> str:
    """Check an identifier or sender: no spaces, commas, ``<`` or ``&``."""
    _text(value, field)
    if _TOKEN_FORBIDDEN.search(value):
        raise ValidationFailed(
            f"{field} must not contain spaces, commas, '<' or '&': {value!r}", field=field
        )
    return value


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    """Check a value against one of the schema's enumerations."""
    if value not in allowed:
        raise ValidationFailed(f"{field} {value!r} is not one of {', '.join(allowed)}", field=field)
    return value


def _point(pair: str, field: str) -> tuple[float, float]:
    """Parse a WGS 84 ``lat,lon`` pair and check its ranges."""
    try:
        lat_text, lon_text = pair.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise ValidationFailed(f"{field}: {pair!r} is not a 'lat,lon' pair", field=field) from None
    if not -90 <= lat <= 90:
        raise ValidationFailed(f"{field}: latitude {lat_text} outside [-90, 90]", field=field)
    if not -180 <= lon <= 180:
        raise ValidationFailed(f"{field}: longitude {lon_text} outside [-180, 180]", field=field)
    return lat, lon


def _polygon(value: str, field: str) -> str:
    """Check a closed polygon of at least four pairs; return it whitespace-normalised."""
    pairs = value.split()
    if len(pairs) < 4:
        raise ValidationFailed(f"{field} needs at least 4 coordinate pairs", field=field)
    points = [_point(pair, field) for pair in pairs]
    if points[0] != points[-1]:
        raise ValidationFailed(f"{field} must end where it starts (closed ring)", field=field)
    return " ".join(pairs)


def _circle(value: str, field: str) -> str:
    """Check a ``lat,lon radius_km`` circle; return it whitespace-normalised."""
    parts = value.split()
    if len(parts) != 2:
        raise ValidationFailed(f"{field} must be 'lat,lon radius_km'", field=field)
    _point(parts[0], field)
    try:
        radius = float(parts[1])
    except ValueError:
        radius = -1.0
    if not (math.isfinite(radius) and radius >= 0):
        raise ValidationFailed(f"{field}: radius {parts[1]!r} is not a distance", field=field)
    return " ".join(parts)


def _address(value: str, field: str) -> str:
    """Quote an address that contains whitespace; refuse ones that cannot be quoted."""
    _text(value, field)
    if '"' in value:
        raise ValidationFailed(f"{field} must not contain a double quote", field=field)
    return f'"{value}"' if re.search(r"\s", value) else value


def _child(parent: ET.Element, tag: str, text: str | None) -> None:
    """Append ``<tag>text</tag>`` unless ``text`` is None."""
    if text is not None:
        ET.SubElement(parent, tag).text = text


def to_xml(alert: CapAlert) -> bytes:
    """Render an alert as a CAP 1.2 document (UTF-8, with an XML declaration)."""
    try:
        msg_type = MsgType(alert.msg_type)
    except ValueError:
        raise ValidationFailed(f"unknown msg_type {alert.msg_type!r}", field="msg_type") from None
    try:
        scope = Scope(alert.scope)
    except ValueError:
        raise ValidationFailed(f"unknown scope {alert.scope!r}", field="scope") from None

    references = " ".join(
        ",".join(
            (
                _token(ref.sender, f"references[{i}].sender"),
                _token(ref.identifier, f"references[{i}].identifier"),
                format_time(ref.sent, f"references[{i}].sent"),
            )
        )
        for i, ref in enumerate(alert.references)
    )
    if msg_type is not MsgType.ALERT and not references:
        raise ValidationFailed(
            f"msgType {msg_type} must reference the message(s) it replaces", field="references"
        )
    addresses = " ".join(_address(a, f"addresses[{i}]") for i, a in enumerate(alert.addresses))
    if scope is Scope.PRIVATE and not addresses:
        raise ValidationFailed("a Private alert needs addresses", field="addresses")
    if alert.restriction is not None:
        _text(alert.restriction, "restriction")
        if scope is not Scope.RESTRICTED:
            raise ValidationFailed(
                "restriction is only allowed with scope Restricted", field="restriction"
            )
    elif scope is Scope.RESTRICTED:
        raise ValidationFailed("a Restricted alert needs a restriction", field="restriction")
    if not _LANGUAGE.fullmatch(alert.language):
        raise ValidationFailed(
            f"language {alert.language!r} is not a language tag", field="language"
        )
    sent = format_time(alert.sent, "sent")
    expires = None if alert.expires is None else format_time(alert.expires, "expires")
    if alert.expires is not None and alert.expires <= alert.sent:
        raise ValidationFailed("expires must be later than sent", field="expires")
    if alert.web is not None and (not alert.web or re.search(r"\s", alert.web)):
        raise ValidationFailed(f"web {alert.web!r} is not a URI", field="web")

    root = ET.Element("alert", xmlns=CAP_NAMESPACE)
    _child(root, "identifier", _token(alert.identifier, "identifier"))
    _child(root, "sender", _token(alert.sender, "sender"))
    _child(root, "sent", sent)
    _child(root, "status", _choice(alert.status, STATUSES, "status"))
    _child(root, "msgType", msg_type.value)
    _child(root, "scope", scope.value)
    _child(root, "restriction", alert.restriction)
    _child(root, "addresses", addresses or None)
    _child(root, "note", None if alert.note is None else _text(alert.note, "note"))
    _child(root, "references", references or None)

    info = ET.SubElement(root, "info")
    _child(info, "language", alert.language)
    _child(info, "category", _choice(alert.category, CATEGORIES, "category"))
    _child(info, "event", _text(alert.event, "event"))
    _child(info, "urgency", _choice(alert.urgency, URGENCIES, "urgency"))
    _child(info, "severity", _choice(alert.severity, SEVERITIES, "severity"))
    _child(info, "certainty", _choice(alert.certainty, CERTAINTIES, "certainty"))
    _child(info, "expires", expires)
    name = alert.sender_name
    _child(info, "senderName", None if name is None else _text(name, "sender_name"))
    _child(info, "headline", _text(alert.headline, "headline"))
    _child(info, "description", _text(alert.description, "description"))
    _child(info, "instruction", _text(alert.instruction, "instruction"))
    _child(info, "web", None if alert.web is None else _text(alert.web, "web"))
    _child(info, "contact", None if alert.contact is None else _text(alert.contact, "contact"))
    for i, area in enumerate(alert.areas):
        node = ET.SubElement(info, "area")
        _child(node, "areaDesc", _text(area.description, f"areas[{i}].description"))
        if area.polygon is not None:
            _child(node, "polygon", _polygon(area.polygon, f"areas[{i}].polygon"))
        if area.circle is not None:
            _child(node, "circle", _circle(area.circle, f"areas[{i}].circle"))

    # A raw carriage return would reach a reader as a newline; a character reference survives.
    body = ET.tostring(root, encoding="unicode").replace("\r", "&#13;")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode("utf-8")
