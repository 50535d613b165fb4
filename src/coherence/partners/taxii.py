"""A TAXII 2.1 server: partners pull the cyber incidents their agreements share, as STIX 2.1.

One API root (``/taxii2/coherence/``) holds one read-only collection per agreement, its id a
UUIDv5 of the agreement key. A party to an agreement in force sees its collection; operator
administrators see every collection but read only those of agreements their organisation is
party to. A collection's objects are the STIX objects of the cyber incidents the agreement
shares with the caller's organisation that the access policy lets the caller read, at or below
the agreement's ceiling, holding only the data categories the agreement and the caller's grant
both allow. A share the export guard blocks is left out and named in the collection's
description. Callers authenticate with HTTP Basic (person key, API token) or a bearer token.
Every pull that returns objects is ledgered as ``share:sent`` (kind ``taxii``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException

from coherence.access import guard
from coherence.access import service as access_service
from coherence.access.api import Caller, bearer
from coherence.access.domain import AccessRole
from coherence.access.policy import Action
from coherence.catalog.domain import OrganisationKind
from coherence.catalog.models import Person
from coherence.errors import CoherenceError, NotAuthenticated, NotFound, PermissionDenied
from coherence.http import SessionDep
from coherence.ledger import bundle as ledger_bundle
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType, canonical_json
from coherence.partners import domain, stix, stix_api
from coherence.partners import service as partners_service
from coherence.partners.models import Agreement

API_ROOT = "coherence"
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
KIND = "taxii"
DEFAULT_PAGE = 100
MAX_PAGE = 1000
REALM = "Coherence TAXII"


class TaxiiError(CoherenceError):
    """A request TAXII refuses with its own status (400, 406)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def _response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        canonical_json(body), status_code=status_code, media_type=TAXII_MEDIA_TYPE, headers=headers
    )


def error_response(status_code: int, title: str, description: str) -> Response:
    """A TAXII error message; a 401 names the schemes that authenticate."""
    headers = {"WWW-Authenticate": f'Basic realm="{REALM}", Bearer realm="{REALM}"'}
    body = {"title": title, "description": description, "http_status": str(status_code)}
    return _response(body, status_code, headers if status_code == 401 else None)


class TaxiiRoute(APIRoute):
    """A route whose failures, authentication included, answer as TAXII error messages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def taxii_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except CoherenceError as exc:
                return error_response(exc.status_code, exc.code.replace("_", " "), exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()) if p != "query")
                return error_response(400, "bad request", f"{where}: {first.get('msg', '')}")
            except HTTPException as exc:
                return error_response(exc.status_code, "error", str(exc.detail))

        return taxii_handler


basic = HTTPBasic(
    auto_error=False,
    realm=REALM,
    description="TAXII: your person key as the user name and one of your API tokens as the "
    "password.",
)


def authenticate(
    session: SessionDep,
    login: HTTPBasicCredentials | None,
    token: HTTPAuthorizationCredentials | None,
) -> Person:
    """Return the person of a Basic (person key, API token) or bearer login; else raise 401."""
    if login is not None:
        person = access_service.authenticate(session, login.password or None)
        if person.key != login.username:
            raise NotAuthenticated("the user name is not the key of the token's person")
        return person
    if token is None:
        raise NotAuthenticated(
            "sign in with HTTP Basic (your person key and an API token) or a bearer token"
        )
    return access_service.authenticate(session, token.credentials)


def _accepts_taxii(accept: str) -> bool:
    for item in accept.split(","):
        kind, *params = (part.strip().lower() for part in item.split(";"))
        version = next((p.split("=", 1)[1] for p in params if p.startswith("version=")), "2.1")
        if kind in ("*/*", "application/*") or (
            kind == "application/taxii+json" and version == "2.1"
        ):
            return True
    return False


class AllowTaxii:
    """A TAXII route dependency: authenticate, ask the policy about ``action``, check Accept."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(
        self,
        request: Request,
        session: SessionDep,
        login: Annotated[HTTPBasicCredentials | None, Depends(basic)],
        token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        person = authenticate(session, login, token)
        clock = request.app.state.clock
        decision = guard.require(session, person=person, action=self.action, now=clock.now())
        if not _accepts_taxii(request.headers.get("accept", "*/*")):
            raise TaxiiError(406, f"this server answers {TAXII_MEDIA_TYPE} only")
        return Caller(person, self.action, decision, None, session, clock)


# Partners read TAXII like the incident list: every standing but integration tokens.
Pulls = Annotated[Caller, Depends(AllowTaxii(Action.LIST_INCIDENTS))]


def collection_id(agreement_key: str) -> str:
    """The collection id of an agreement: a UUIDv5 of its key."""
    return str(uuid.uuid5(stix.NAMESPACE, f"taxii-collection:{agreement_key}"))


@dataclass
class View:
    """One agreement's collection as one caller sees it."""

    agreement: Agreement
    can_read: bool
    contents: stix_api.Contents | None = None

    @property
    def objects(self) -> list[stix.StixObject]:
        """The objects the caller may read, oldest added first."""
        return self.contents.objects if self.contents else []

    @property
    def id(self) -> str:
        """The collection id."""
        return collection_id(self.agreement.key)

    def resource(self, today: date) -> dict[str, Any]:
        """The TAXII collection resource."""
        terms = partners_service.terms_of(self.agreement)
        text = (
            f"{self.agreement.title}. Cyber incidents the agreement {terms.key} shares with you, "
            f"up to TLP:{terms.ceiling.value}, from {terms.valid_from} to {terms.valid_until}."
        )
        if not domain.in_force(terms, today):
            text += " Not in force today: it shares nothing."
        if self.contents and self.contents.withheld:
            text += (
                " Withheld by the export guard: "
                + ", ".join(self.contents.withheld)
                + " (an export_control approver may override it)."
            )
        return {
            "id": self.id,
            "title": self.agreement.title,
            "description": text,
            "alias": self.agreement.key,
            "can_read": self.can_read,
            "can_write": False,
            "media_types": [stix.STIX_MEDIA_TYPE],
        }


def views(caller: Caller) -> list[View]:
    """The collections the caller sees: parties see theirs in force, operator admins see all."""
    person, today = caller.person, caller.clock.now().date()
    organisation = person.organisation.key
    admin = (
        person.access_role == AccessRole.ADMINISTRATOR.value
        and person.organisation.kind == OrganisationKind.OPERATOR.value
    )
    found = []
    for agreement in partners_service.list_agreements(caller.session):
        terms = partners_service.terms_of(agreement)
        readable = organisation in terms.parties and domain.in_force(terms, today)
        if readable or admin:
            view = View(agreement, readable)
            if readable:
                view.contents = stix_api.agreement_contents(
                    caller.session, person=person, agreement=agreement, now=caller.clock.now()
                )
            found.append(view)
    return found


def view_or_raise(caller: Caller, identifier: str, *, read: bool = True) -> View:
    """The caller's view of one collection: 404 if they cannot see it, 403 if not read it."""
    view = next((v for v in views(caller) if v.id == identifier), None)
    if view is None:
        raise NotFound(f"no collection {identifier} you can see", field="collection_id")
    if read and not view.can_read:
        raise PermissionDenied(
            f"your organisation is not party to agreement {view.agreement.key}; "
            "its collection is not yours to read",
            field="collection_id",
        )
    return view


@dataclass(frozen=True)
class Filters:
    """The TAXII query of an objects or manifest request."""

    added_after: str | None = None
    limit: int | None = None
    next: str | None = None
    ids: str | None = None
    types: str | None = None
    versions: str | None = None
    spec_versions: str | None = None


def _query(
    added_after: str | None = Query(None, description="Only objects added after this time."),
    limit: int | None = Query(None, ge=1, description=f"At most this many (≤ {MAX_PAGE})."),
    next: str | None = Query(None, description="The `next` of the previous page."),
    ids: str | None = Query(None, alias="match[id]", description="Comma-separated STIX ids."),
    types: str | None = Query(None, alias="match[type]", description="Comma-separated types."),
    versions: str | None = Query(None, alias="match[version]", description="last, first, all…"),
    spec_versions: str | None = Query(None, alias="match[spec_version]", description="2.1"),
) -> Filters:
    return Filters(added_after, limit, next, ids, types, versions, spec_versions)


TaxiiQuery = Annotated[Filters, Depends(_query)]


def _split(value: str | None) -> set[str] | None:
    return {v.strip() for v in value.split(",") if v.strip()} if value else None


def _moment(text: str, name: str) -> datetime:
    try:
        return stix.parse_stamp(text)
    except ValueError as exc:
        raise TaxiiError(400, f"{name}: {exc}") from None


def select_page(
    objects: list[stix.StixObject], filters: Filters
) -> tuple[list[stix.StixObject], str | None]:
    """Filter objects (sorted by date added, then id) and cut one page; return it and ``next``."""
    ids, types = _split(filters.ids), _split(filters.types)
    specs, versions = _split(filters.spec_versions), _split(filters.versions) or {"last"}
    after = _moment(filters.added_after, "added_after") if filters.added_after else None
    exact = {_moment(v, "match[version]") for v in versions - {"last", "first", "all"}}
    chosen = [
        o
        for o in objects
        if (ids is None or o.id in ids)
        and (types is None or o.body["type"] in types)
        and (specs is None or o.body.get("spec_version", stix.SPEC_VERSION) in specs)
        and (after is None or _to_ms(o.added) > after)
        # Each object has one version here, the current one: it is its first and its last.
        and (versions & {"last", "first", "all"} or stix.parse_stamp(o.version) in exact)
    ]
    if filters.next:
        added, identifier = _cursor(filters.next)
        chosen = [o for o in chosen if (o.added, o.id) > (added, identifier)]
    size = min(filters.limit or DEFAULT_PAGE, MAX_PAGE)
    page = chosen[:size]
    more = len(chosen) > size
    return page, _token(page[-1]) if more else None


def _token(item: stix.StixObject) -> str:
    text = f"{item.added.isoformat()}|{item.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor(token: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        added, identifier = text.split("|", 1)
        moment = datetime.fromisoformat(added)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TaxiiError(400, "next: not a token this server gave") from None
    if moment.tzinfo is None:
        raise TaxiiError(400, "next: not a token this server gave")
    return moment, identifier


def _to_ms(moment: datetime) -> datetime:
    # Dates added are shown to the millisecond; added_after compares at that precision.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _page_headers(page: list[stix.StixObject]) -> dict[str, str]:
    if not page:
        return {}
    return {
        "X-TAXII-Date-Added-First": stix.stamp(page[0].added),
        "X-TAXII-Date-Added-Last": stix.stamp(page[-1].added),
    }


def envelope(caller: Caller, view: View, page: list[stix.StixObject], more: str | None) -> Response:
    """The envelope of one page; ledgered as ``share:sent`` when it carries objects."""
    body: dict[str, Any] = {"more": more is not None}
    if more:
        body["next"] = more
    if page:
        body["objects"] = [o.body for o in page]
    data = canonical_json(body)
    if page:
        ledger_service.append(
            caller.session,
            clock=caller.clock,
            entry_type=EntryType.SHARE_SENT,
            actor=caller.person.key,
            subject=f"taxii:{view.id}",
            payload={
                "organisation": caller.person.organisation.key,
                "kind": KIND,
                "sha256": hashlib.sha256(data).hexdigest(),
                "entries": ledger_bundle.compact_ranges(s for o in page for s in o.seqs),
                "agreements": [view.agreement.key],
            },
        )
    return Response(data, media_type=TAXII_MEDIA_TYPE, headers=_page_headers(page))


ROOT = f"/{API_ROOT}"
COLLECTION = ROOT + "/collections/{collection_id}"
TAXII_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {TAXII_MEDIA_TYPE: {}}},
    401: {"description": "No valid credentials: a TAXII error message."},
    403: {"description": "Refused: a TAXII error message says why."},
    404: {"description": "No such collection or object you can see."},
}
router = APIRouter(
    prefix="/taxii2",
    tags=["taxii"],
    route_class=TaxiiRoute,
    default_response_class=Response,
    responses=TAXII_RESPONSES,
)


def _versions_of(view: View, object_id: str) -> list[stix.StixObject]:
    found = [o for o in view.objects if o.id == object_id]
    if not found:
        raise NotFound(f"no object {object_id} in this collection", field="object_id")
    return found


@router.get("/", summary="TAXII discovery")
def discovery(request: Request, caller: Pulls) -> Response:
    """The server and its one API root."""
    root = str(request.url_for("api_root"))
    return _response(
        {
            "title": "Coherence TAXII server",
            "description": "Cyber incidents of quantum facilities, as STIX 2.1, for the parties "
            "of each sharing agreement.",
            "default": root,
            "api_roots": [root],
        }
    )


@router.get(ROOT + "/", summary="TAXII API root")
def api_root(request: Request, caller: Pulls) -> Response:
    """The API root: one collection per agreement."""
    return _response(
        {
            "title": "Coherence",
            "description": "One read-only collection per partner agreement.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": request.app.state.settings.max_request_bytes,
        }
    )


@router.get(ROOT + "/collections/", summary="TAXII collections")
def list_collections(caller: Pulls) -> Response:
    """The collections the caller can see."""
    today = caller.clock.now().date()
    found = [v.resource(today) for v in views(caller)]
    return _response({"collections": found} if found else {})


@router.get(COLLECTION + "/", summary="TAXII collection")
def get_collection(collection_id: str, caller: Pulls) -> Response:
    """One collection."""
    view = view_or_raise(caller, collection_id, read=False)
    return _response(view.resource(caller.clock.now().date()))


@router.get(COLLECTION + "/objects/", summary="TAXII objects")
def get_objects(collection_id: str, caller: Pulls, filters: TaxiiQuery) -> Response:
    """A page of the collection's objects, oldest added first; ledgered as share:sent."""
    view = view_or_raise(caller, collection_id)
    page, more = select_page(view.objects, filters)
    return envelope(caller, view, page, more)


@router.post(COLLECTION + "/objects/", summary="TAXII add objects (refused)")
def add_objects(collection_id: str, caller: Pulls) -> Response:
    """Collections are read-only (can_write false): always 403 for a collection you can see."""
    view = view_or_raise(caller, collection_id, read=False)
    raise PermissionDenied(f"collection {view.id} is read-only", field="collection_id")


@router.get(COLLECTION + "/objects/{object_id}/", summary="TAXII object")
def get_object(collection_id: str, object_id: str, caller: Pulls, filters: TaxiiQuery) -> Response:
    """Every version of one object (here: its current one); ledgered as share:sent."""
    view = view_or_raise(caller, collection_id)
    page, more = select_page(_versions_of(view, object_id), filters)
    return envelope(caller, view, page, more)


@router.get(COLLECTION + "/objects/{object_id}/versions/", summary="TAXII object versions")
def get_versions(collection_id: str, object_id: str, caller: Pulls) -> Response:
    """The versions of one object the collection holds."""
    found = _versions_of(view_or_raise(caller, collection_id), object_id)
    return _response({"more": False, "versions": [o.version for o in found]})


@router.get(COLLECTION + "/manifest/", summary="TAXII manifest")
def get_manifest(collection_id: str, caller: Pulls, filters: TaxiiQuery) -> Response:
    """Ids, versions and dates added of the collection's objects, one page at a time."""
    view = view_or_raise(caller, collection_id)
    page, more = select_page(view.objects, filters)
    body: dict[str, Any] = {"more": more is not None}
    if more:
        body["next"] = more
    if page:
        body["objects"] = [
            {
                "id": o.id,
                "date_added": stix.stamp(o.added),
                "version": o.version,
                "media_type": stix.STIX_MEDIA_TYPE,
            }
            for o in page
        ]
    return _response(body, headers=_page_headers(page))


@router.get(ROOT + "/status/{status_id}/", summary="TAXII status")
def get_status(status_id: str, caller: Pulls) -> Response:
    """Status of an add request: this server takes no writes, so there is none."""
    raise NotFound(f"no status {status_id}: collections here are read-only", field="status_id")
