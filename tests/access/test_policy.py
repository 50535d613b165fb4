"""The access policy as a pure function: the examples the facility relies on, and its invariants."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coherence.access.domain import (
    AFTER_ACTION_REVIEW,
    EXPORT_CONTROL,
    AccessRole,
    DataCategory,
    Tlp,
)
from coherence.access.policy import (
    INCIDENT_ACTIONS,
    WRITES,
    Action,
    IncidentFacts,
    Relation,
    SharingGrant,
    Subject,
    decide,
    facility_categories,
)
from coherence.catalog.domain import IcsRole
from coherence.incidents.domain import Status

OPERATOR = "northbridge"
RESPONDER = Subject("priya-raman", OPERATOR, True, AccessRole.RESPONDER)
ADMIN = Subject("amara-osei", OPERATOR, True, AccessRole.ADMINISTRATOR)
OBSERVER = Subject("campus-visitor-desk", OPERATOR, True, AccessRole.OBSERVER)
AUDITOR = Subject("ines-laurent", OPERATOR, True, AccessRole.AUDITOR)
GATEWAY = Subject("telemetry-gateway", OPERATOR, True, AccessRole.INTEGRATION)
PARTNER = Subject("polar-cryo-support", "polar-cryogenics", False, AccessRole.RESPONDER)
OTHER_OPERATOR = Subject("fatima-idrissi", "harbourline-qkd", True, AccessRole.RESPONDER)
ACTIVE = IncidentFacts(organisations=frozenset({OPERATOR}), phase=Status.CONTAINED, tlp=Tlp.AMBER)


def facts(**changes: object) -> IncidentFacts:
    return replace(ACTIVE, **changes)  # type: ignore[arg-type]


def test_a_scribe_adds_to_the_timeline_but_does_not_close_or_direct() -> None:
    scribe = Subject("oskar-nilsen", OPERATOR, True, AccessRole.RESPONDER)
    on_it = facts(held_roles=frozenset({IcsRole.SCRIBE}), phase=Status.RESOLVED)
    assert decide(scribe, Action.RECORD, on_it)
    refused = decide(scribe, Action.CLOSE, on_it)
    assert not refused
    assert "incident commander" in refused.reason
    assert not decide(scribe, Action.COMMAND, on_it)


def test_the_commander_closes_and_directs() -> None:
    commander = facts(held_roles=frozenset({IcsRole.INCIDENT_COMMANDER}), phase=Status.RESOLVED)
    for action in (Action.RECORD, Action.COMMAND, Action.CLOSE, Action.COMMUNICATE):
        assert decide(RESPONDER, action, commander), action


def test_with_no_commander_yet_a_responder_of_the_organisation_may_take_charge() -> None:
    assert decide(RESPONDER, Action.COMMAND, facts(has_commander=False))
    assert not decide(RESPONDER, Action.COMMAND, facts(has_commander=True))
    assert not decide(RESPONDER, Action.CLOSE, facts(has_commander=False))


def test_after_closure_everything_is_read_only_except_for_after_action_reviewers() -> None:
    closed = facts(phase=Status.CLOSED, held_roles=frozenset({IcsRole.INCIDENT_COMMANDER}))
    reviewer = replace(RESPONDER, clearances=frozenset({AFTER_ACTION_REVIEW}))
    for action in WRITES - {Action.BREAK_GLASS}:
        refused = decide(ADMIN, action, facts(phase=Status.CLOSED))
        assert not refused, action
        assert "closed" in refused.reason
    assert decide(RESPONDER, Action.READ, facts(phase=Status.CLOSED))
    assert decide(reviewer, Action.RECORD, facts(phase=Status.CLOSED))
    assert decide(reviewer, Action.REOPEN, facts(phase=Status.CLOSED))
    assert not decide(reviewer, Action.COMMAND, facts(phase=Status.CLOSED))
    # The commander of the incident reviews it too.
    assert decide(RESPONDER, Action.RECORD, closed)


def test_regulatory_reports_are_signed_off_by_command_or_liaison_even_after_closure() -> None:
    liaison = facts(held_roles=frozenset({IcsRole.LIAISON_OFFICER}))
    assert decide(RESPONDER, Action.REPORT, liaison)
    refused = decide(RESPONDER, Action.REPORT, facts(held_roles=frozenset({IcsRole.SCRIBE})))
    assert not refused
    assert "liaison officer" in refused.reason
    reviewer = replace(RESPONDER, clearances=frozenset({AFTER_ACTION_REVIEW}))
    assert decide(reviewer, Action.REPORT, facts(phase=Status.CLOSED))
    assert not decide(RESPONDER, Action.REPORT, replace(liaison, phase=Status.CLOSED))


def test_a_partner_sees_only_what_its_agreement_allows_up_to_its_ceiling() -> None:
    assert not decide(PARTNER, Action.READ, ACTIVE)
    grant = SharingGrant(ceiling=Tlp.GREEN, categories=frozenset({DataCategory.OPERATIONAL}))
    green = decide(PARTNER, Action.READ, facts(tlp=Tlp.GREEN, grant=grant))
    assert green
    assert green.relation is Relation.PARTNER
    assert green.entitled == frozenset({DataCategory.OPERATIONAL})
    above = decide(PARTNER, Action.READ, facts(tlp=Tlp.AMBER, grant=grant))
    assert not above
    assert "ceiling" in above.reason
    generous = SharingGrant(ceiling=Tlp.RED, categories=frozenset(DataCategory))
    strict = decide(PARTNER, Action.READ, facts(tlp=Tlp.AMBER_STRICT, grant=generous))
    assert not strict
    assert "AMBER+STRICT" in strict.reason
    assert not decide(PARTNER, Action.RECORD, facts(tlp=Tlp.GREEN, grant=grant))


def test_a_partner_given_a_role_works_the_incident() -> None:
    liaison = facts(held_roles=frozenset({IcsRole.LIAISON_OFFICER}))
    assert decide(PARTNER, Action.RECORD, liaison)
    assert not decide(PARTNER, Action.CLOSE, liaison)


def test_tlp_red_is_for_named_recipients_only_whoever_else_asks() -> None:
    red = facts(tlp=Tlp.RED, named_recipients=frozenset({"helen-marsh"}))
    for subject in (RESPONDER, ADMIN, AUDITOR, OBSERVER):
        refused = decide(subject, Action.READ, red)
        assert not refused, subject.person
        assert "TLP:RED" in refused.reason
    named = Subject("helen-marsh", OPERATOR, True, AccessRole.RESPONDER)
    assert decide(named, Action.READ, red)
    assert decide(PARTNER, Action.READ, replace(red, named_recipients=frozenset({PARTNER.person})))


def test_another_operator_sees_nothing_until_it_breaks_the_glass() -> None:
    refused = decide(OTHER_OPERATOR, Action.READ, ACTIVE)
    assert not refused
    assert refused.relation is Relation.NONE
    assert decide(OTHER_OPERATOR, Action.BREAK_GLASS, ACTIVE)
    glass = facts(break_glass=True)
    for action in (Action.READ, Action.RECORD, Action.COMMAND, Action.CLOSE):
        assert decide(OTHER_OPERATOR, action, glass), action
    assert not decide(OTHER_OPERATOR, Action.BREAK_GLASS, glass), "already held"


def test_break_glass_is_for_operator_responders_on_open_incidents() -> None:
    assert not decide(PARTNER, Action.BREAK_GLASS, ACTIVE)
    assert not decide(OBSERVER, Action.BREAK_GLASS, ACTIVE)
    assert not decide(RESPONDER, Action.BREAK_GLASS, facts(phase=Status.CLOSED))


def test_observers_and_auditors_read_but_never_write() -> None:
    for subject in (OBSERVER, AUDITOR):
        assert decide(subject, Action.READ, ACTIVE)
        for action in WRITES:
            assert not decide(subject, action, ACTIVE), (subject.person, action)
    assert decide(AUDITOR, Action.AUDIT)
    assert not decide(OBSERVER, Action.AUDIT)
    assert not decide(RESPONDER, Action.AUDIT)


def test_integration_tokens_only_send_telemetry() -> None:
    assert decide(GATEWAY, Action.INGEST)
    assert decide(GATEWAY, Action.SELF)
    for action in Action:
        if action not in (Action.INGEST, Action.SELF):
            assert not decide(GATEWAY, action, ACTIVE if action.on_incident else None), action


def test_facility_changes_need_an_administrator_and_partners_never_read_the_facility() -> None:
    assert decide(ADMIN, Action.MANAGE_FACILITY)
    assert not decide(RESPONDER, Action.MANAGE_FACILITY)
    assert decide(RESPONDER, Action.MANAGE_ONCALL)
    assert not decide(PARTNER, Action.READ_FACILITY)
    assert not decide(PARTNER, Action.OPEN_INCIDENT)


def test_redaction_entitlements_follow_relation_role_and_clearance() -> None:
    assert DataCategory.PERSONAL not in decide(OBSERVER, Action.READ, ACTIVE).entitled
    assert DataCategory.PERSONAL in decide(RESPONDER, Action.READ, ACTIVE).entitled
    assert DataCategory.EXPORT_CONTROLLED not in decide(ADMIN, Action.READ, ACTIVE).entitled
    cleared = replace(RESPONDER, clearances=frozenset({EXPORT_CONTROL}))
    assert DataCategory.EXPORT_CONTROLLED in decide(cleared, Action.READ, ACTIVE).entitled
    assert DataCategory.PERSONAL not in facility_categories(OBSERVER)


def test_an_incident_action_without_its_facts_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="facts"):
        decide(RESPONDER, Action.READ)


SUBJECTS = st.builds(
    Subject,
    person=st.sampled_from(["a", "b", "c"]),
    organisation=st.sampled_from([OPERATOR, "other"]),
    operator_member=st.booleans(),
    access=st.sampled_from(list(AccessRole)),
    clearances=st.frozensets(st.sampled_from([AFTER_ACTION_REVIEW, EXPORT_CONTROL])),
)
FACTS = st.builds(
    IncidentFacts,
    organisations=st.just(frozenset({OPERATOR})),
    phase=st.sampled_from(list(Status)),
    tlp=st.sampled_from(list(Tlp)),
    named_recipients=st.frozensets(st.sampled_from(["a", "b", "c"])),
    held_roles=st.frozensets(st.sampled_from(list(IcsRole)), max_size=2),
    has_commander=st.booleans(),
    grant=st.none()
    | st.builds(
        SharingGrant,
        ceiling=st.sampled_from(list(Tlp)),
        categories=st.frozensets(st.sampled_from(list(DataCategory))),
    ),
    break_glass=st.booleans(),
)


@given(SUBJECTS, FACTS, st.sampled_from(sorted(INCIDENT_ACTIONS)))
def test_no_write_without_sight_except_taking_the_glass(
    subject: Subject, incident: IncidentFacts, action: Action
) -> None:
    decision = decide(subject, action, incident)
    if decision and action is not Action.BREAK_GLASS:
        assert decide(subject, Action.READ, incident)
    if decision and action in WRITES and incident.phase is Status.CLOSED:
        assert action in (Action.RECORD, Action.REOPEN, Action.REPORT)
    hidden = incident.tlp is Tlp.RED and subject.person not in incident.named_recipients
    if hidden and not incident.break_glass and action is not Action.BREAK_GLASS:
        assert not decision
    assert decision.reason


@given(SUBJECTS, FACTS)
def test_export_controlled_data_always_needs_the_clearance(
    subject: Subject, incident: IncidentFacts
) -> None:
    decision = decide(subject, Action.READ, incident)
    if EXPORT_CONTROL not in subject.clearances:
        assert DataCategory.EXPORT_CONTROLLED not in decision.entitled
