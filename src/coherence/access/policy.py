"""The authorisation policy: who may do what, as a pure function of role, phase, label and relation.

Every endpoint names one :class:`Action`; :func:`decide` answers it from plain facts about the
caller (:class:`Subject`) and, for incident actions, about the incident (:class:`IncidentFacts`).
Nothing here reads a database, so the whole policy can be tabulated and tested exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from coherence.access.domain import (
    AFTER_ACTION_REVIEW,
    EXPORT_CONTROL,
    AccessRole,
    DataCategory,
    Tlp,
)
from coherence.catalog.domain import IcsRole
from coherence.incidents.domain import Status


class Action(StrEnum):
    """What an endpoint does, as the policy sees it."""

    SELF = "self"
    READ_FACILITY = "read_facility"
    MANAGE_FACILITY = "manage_facility"
    MANAGE_ONCALL = "manage_oncall"
    DRAFT_STATEMENTS = "draft_statements"
    INGEST = "ingest"
    AUDIT = "audit"
    LIST_INCIDENTS = "list_incidents"
    OPEN_INCIDENT = "open_incident"
    READ = "read"
    RECORD = "record"
    COMMAND = "command"
    CLOSE = "close"
    REOPEN = "reopen"
    COMMUNICATE = "communicate"
    REPORT = "report"
    BREAK_GLASS = "break_glass"

    @property
    def on_incident(self) -> bool:
        """Whether the action is about one incident (and needs its facts)."""
        return self in INCIDENT_ACTIONS


INCIDENT_ACTIONS = frozenset(
    {
        Action.READ,
        Action.RECORD,
        Action.COMMAND,
        Action.CLOSE,
        Action.REOPEN,
        Action.COMMUNICATE,
        Action.REPORT,
        Action.BREAK_GLASS,
    }
)
WRITES = INCIDENT_ACTIONS - {Action.READ}
EVERY_CATEGORY = frozenset(DataCategory)


class Relation(StrEnum):
    """How the caller stands to an incident, closest first."""

    ASSIGNED = "assigned"
    SAME_ORGANISATION = "same_organisation"
    PARTNER = "partner"
    NONE = "none"


@dataclass(frozen=True)
class SharingGrant:
    """What an agreement lets a partner organisation see of one incident."""

    ceiling: Tlp
    categories: frozenset[DataCategory]


@dataclass(frozen=True)
class Subject:
    """The caller: who they are and their standing in the tool."""

    person: str
    organisation: str
    operator_member: bool
    access: AccessRole
    clearances: frozenset[str] = frozenset()


@dataclass(frozen=True)
class IncidentFacts:
    """What the policy needs to know about one incident, as seen by one subject."""

    organisations: frozenset[str]
    phase: Status
    tlp: Tlp
    named_recipients: frozenset[str] = frozenset()
    held_roles: frozenset[IcsRole] = frozenset()
    has_commander: bool = True
    grant: SharingGrant | None = None
    break_glass: bool = False


@dataclass(frozen=True)
class Decision:
    """The policy's answer, with the reason a refused caller is shown."""

    allowed: bool
    reason: str
    relation: Relation = Relation.NONE
    entitled: frozenset[DataCategory] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return self.allowed


WRITERS = frozenset({AccessRole.ADMINISTRATOR, AccessRole.RESPONDER})
_FACILITY_RULES: dict[Action, tuple[frozenset[AccessRole], bool, str]] = {
    # action: (access roles allowed, must belong to an operator organisation, what it needs)
    Action.SELF: (frozenset(AccessRole), False, "everyone may see who they are"),
    Action.READ_FACILITY: (
        frozenset(AccessRole) - {AccessRole.INTEGRATION},
        True,
        "reading the facility needs membership of an operator organisation",
    ),
    Action.MANAGE_FACILITY: (
        frozenset({AccessRole.ADMINISTRATOR}),
        True,
        "changing the facility or its playbooks needs the administrator role",
    ),
    Action.MANAGE_ONCALL: (WRITERS, True, "changing who is on call needs the responder role"),
    Action.DRAFT_STATEMENTS: (WRITERS, True, "statement templates need the responder role"),
    Action.INGEST: (
        WRITERS | {AccessRole.INTEGRATION},
        True,
        "sending telemetry needs the integration or responder role",
    ),
    Action.AUDIT: (
        frozenset({AccessRole.ADMINISTRATOR, AccessRole.AUDITOR}),
        False,
        "the whole ledger and evidence verification are for auditors and administrators",
    ),
    Action.LIST_INCIDENTS: (
        frozenset(AccessRole) - {AccessRole.INTEGRATION},
        False,
        "integration tokens only send telemetry",
    ),
    Action.OPEN_INCIDENT: (WRITERS, True, "opening an incident needs the responder role"),
}
_REVIEW_ROLES = frozenset({IcsRole.INCIDENT_COMMANDER, IcsRole.PLANNING})
_COMMUNICATORS = frozenset({IcsRole.INCIDENT_COMMANDER, IcsRole.PUBLIC_INFORMATION_OFFICER})
_REPORTERS = frozenset({IcsRole.INCIDENT_COMMANDER, IcsRole.LIAISON_OFFICER})


def decide(subject: Subject, action: Action, facts: IncidentFacts | None = None) -> Decision:
    """Return whether ``subject`` may take ``action`` (on the incident ``facts`` describe)."""
    if not action.on_incident:
        return _decide_facility(subject, action)
    if facts is None:
        raise ValueError(f"{action.value} is about an incident; its facts are needed")
    if subject.access is AccessRole.INTEGRATION:
        return Decision(False, "integration tokens only send telemetry")
    relation = relation_of(subject, facts)
    if action is Action.BREAK_GLASS:
        # Taking emergency access is exactly for incidents the caller cannot otherwise reach.
        allowed, reason = _break_glass_rule(subject, facts)
        return Decision(allowed, reason, relation)
    seen = _visibility(subject, facts, relation)
    if not seen.allowed or action is Action.READ:
        return seen
    allowed, reason = _write_rule(subject, action, facts, relation)
    return Decision(allowed, reason, relation, seen.entitled)


def relation_of(subject: Subject, facts: IncidentFacts) -> Relation:
    """Return the closest relation the subject has to the incident."""
    if facts.held_roles:
        return Relation.ASSIGNED
    if subject.organisation in facts.organisations:
        return Relation.SAME_ORGANISATION
    if facts.grant is not None:
        return Relation.PARTNER
    return Relation.NONE


def entitled_categories(
    subject: Subject, facts: IncidentFacts, relation: Relation
) -> frozenset[DataCategory]:
    """Return the data categories the subject may read unredacted on this incident."""
    if relation is Relation.PARTNER and facts.grant is not None:
        categories = facts.grant.categories
    elif subject.access is AccessRole.OBSERVER and relation is not Relation.ASSIGNED:
        categories = frozenset({DataCategory.OPERATIONAL, DataCategory.CALIBRATION})
    elif (
        relation is Relation.NONE
        and not facts.break_glass
        and subject.access
        not in (
            AccessRole.ADMINISTRATOR,
            AccessRole.AUDITOR,
        )
    ):
        categories = frozenset({DataCategory.OPERATIONAL})
    else:
        categories = EVERY_CATEGORY
    # Export-controlled technical data follows the law, not the incident: a clearance is needed.
    if EXPORT_CONTROL not in subject.clearances:
        categories = categories - {DataCategory.EXPORT_CONTROLLED}
    return categories


def facility_categories(subject: Subject) -> frozenset[DataCategory]:
    """Return the data categories the subject may read unredacted outside any incident."""
    if subject.access is AccessRole.OBSERVER or not subject.operator_member:
        categories = frozenset({DataCategory.OPERATIONAL, DataCategory.CALIBRATION})
    else:
        categories = EVERY_CATEGORY
    if EXPORT_CONTROL not in subject.clearances:
        categories = categories - {DataCategory.EXPORT_CONTROLLED}
    return categories


def _decide_facility(subject: Subject, action: Action) -> Decision:
    roles, operator_only, needs = _FACILITY_RULES[action]
    if subject.access not in roles:
        return Decision(False, needs)
    if operator_only and not subject.operator_member:
        return Decision(False, f"{needs}; partners see incidents through their agreements")
    return Decision(True, "allowed", entitled=facility_categories(subject))


def _visibility(subject: Subject, facts: IncidentFacts, relation: Relation) -> Decision:
    entitled = entitled_categories(subject, facts, relation)
    if facts.break_glass:
        return Decision(True, "break-glass access", relation, entitled)
    if facts.tlp is Tlp.RED and subject.person not in facts.named_recipients:
        return Decision(
            False, "the incident is TLP:RED: only its named recipients see it", relation
        )
    if facts.tlp is Tlp.RED:
        return Decision(True, "allowed as a named recipient", relation, entitled)
    if relation in (Relation.ASSIGNED, Relation.SAME_ORGANISATION):
        return Decision(True, "allowed", relation, entitled)
    if subject.access in (AccessRole.ADMINISTRATOR, AccessRole.AUDITOR):
        return Decision(True, f"allowed as {subject.access.value}", relation, entitled)
    if relation is Relation.PARTNER and facts.grant is not None:
        if facts.tlp is Tlp.AMBER_STRICT:
            return Decision(
                False, "TLP:AMBER+STRICT stays inside the operator's organisation", relation
            )
        if facts.tlp.rank > facts.grant.ceiling.rank:
            return Decision(
                False,
                f"the incident is TLP:{facts.tlp.value}, above your agreement's ceiling "
                f"TLP:{facts.grant.ceiling.value}",
                relation,
            )
        return Decision(True, "allowed under your agreement", relation, entitled)
    return Decision(
        False,
        "you have no role on this incident, are not of its organisation and no agreement "
        "shares it with you",
        relation,
    )


def _write_rule(
    subject: Subject, action: Action, facts: IncidentFacts, relation: Relation
) -> tuple[bool, str]:
    if subject.access in (AccessRole.OBSERVER, AccessRole.AUDITOR):
        return False, f"the {subject.access.value} role is read-only"
    if facts.phase is Status.CLOSED:
        return _after_closure_rule(subject, action, facts)
    if facts.break_glass:
        return True, "break-glass access"
    admin = subject.access is AccessRole.ADMINISTRATOR
    responder = subject.access is AccessRole.RESPONDER and relation is Relation.SAME_ORGANISATION
    held = facts.held_roles
    if action is Action.RECORD:
        if held or admin or responder:
            return True, "allowed"
        return False, "adding to the record needs a role on the incident"
    if action in (Action.COMMAND, Action.REOPEN):
        if IcsRole.INCIDENT_COMMANDER in held or admin:
            return True, "allowed"
        if responder and not facts.has_commander:
            return True, "no incident commander yet: a responder may take charge"
        return False, "directing the incident is for its incident commander"
    if action is Action.CLOSE:
        if IcsRole.INCIDENT_COMMANDER in held or admin:
            return True, "allowed"
        return False, "only the incident commander closes an incident"
    if action is Action.REPORT:
        if held & _REPORTERS or admin:
            return True, "allowed"
        return False, "regulatory reports are signed off by the commander or the liaison officer"
    if held & _COMMUNICATORS or admin:
        return True, "allowed"
    return False, "statements are issued by the public information officer or the commander"


def _after_closure_rule(subject: Subject, action: Action, facts: IncidentFacts) -> tuple[bool, str]:
    reviewer = AFTER_ACTION_REVIEW in subject.clearances or bool(facts.held_roles & _REVIEW_ROLES)
    # Reports fall due after closure too (NIS2's final report a month after the notification).
    if action in (Action.RECORD, Action.REOPEN, Action.REPORT) and reviewer:
        return True, "allowed as an after-action reviewer"
    return False, "the incident is closed: it is read-only except for after-action reviewers"


def _break_glass_rule(subject: Subject, facts: IncidentFacts) -> tuple[bool, str]:
    if facts.break_glass:
        return False, "you already hold break-glass access to this incident"
    if facts.phase is Status.CLOSED:
        return False, "a closed incident needs no emergency access"
    if not subject.operator_member or subject.access not in WRITERS:
        return False, "break-glass is for responders of an operator organisation"
    return True, "allowed; it is recorded and the commander and safety officer are told"
