"""The public status page and its feeds: public incidents and their cleared statements only.

Nothing here needs a sign-in, so nothing here may show more than what was issued to the public:
the statement texts (each rendered from an approved template version), their times, and the
withdrawals. Incident details, people and telemetry never appear.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from coherence.access.api import Public
from coherence.comms import statements_service
from coherence.comms.models import Statement
from coherence.http import ClockDep, SessionDep
from coherence.incidents.domain import reference
from coherence.web.rendering import SECURITY_HEADERS, render

NO_SIGN_IN = Public("the public status page shows only statements issued to the public")
router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(NO_SIGN_IN)],
)
ATOM = "http://www.w3.org/2005/Atom"


def public_posts(session: Session) -> list[dict[str, Any]]:
    """Public statements newest first, each marked if a later one withdrew it."""
    rows = statements_service.public_statements(session)
    withdrawn = {s.withdraws_id for s in rows if s.withdraws_id is not None}
    return [_post(s, withdrawn) for s in rows]


def _post(statement: Statement, withdrawn: set[int]) -> dict[str, Any]:
    return {
        "id": statement.cap_identifier,
        "incident": reference(statement.incident_id),
        "title": statement.title,
        "body": statement.body,
        "issued_at": statement.issued_at,
        "kind": "withdrawal" if statement.withdraws_id is not None else "statement",
        "withdrawn": statement.id in withdrawn,
    }


def by_incident(posts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for post in posts:
        grouped[post["incident"]].append(post)
    return dict(grouped)


@router.get("/status")
def status_page(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    """The public status page."""
    posts = public_posts(session)
    context = {"incidents": by_incident(posts), "now": clock.now()}
    return render(request, "status.html", context)


@router.get("/status.json")
def status_json(session: SessionDep, clock: ClockDep) -> Response:
    """The public statements as JSON, newest first."""
    posts = [{**p, "issued_at": p["issued_at"].isoformat()} for p in public_posts(session)]
    return JSONResponse(
        {"generated_at": clock.now().isoformat(), "statements": posts}, headers=SECURITY_HEADERS
    )


@router.get("/status.atom")
def status_atom(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    """The public statements as an Atom feed."""
    base = str(request.base_url).rstrip("/")
    posts = public_posts(session)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "title", "Status: public statements")
    _add(feed, "id", f"{base}/status")
    updated = posts[0]["issued_at"] if posts else clock.now()
    _add(feed, "updated", _rfc3339(updated))
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/status.atom", rel="self")
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/status")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _add(author, "name", "Coherence")
    for post in posts:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _add(entry, "id", f"{base}/status#{post['id']}")
        _add(entry, "title", f"{post['incident']}: {post['title']}")
        _add(entry, "updated", _rfc3339(post["issued_at"]))
        ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{base}/status#{post['id']}")
        content = _add(entry, "content", post["body"])
        content.set("type", "text")
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/atom+xml", headers=SECURITY_HEADERS)


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    child.text = text
    return child


def _rfc3339(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
