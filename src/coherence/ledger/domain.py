"""Ledger entry types and the canonical encoding of entries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

SYSTEM_ACTOR = "system"


class EntryType(StrEnum):
    """Every kind of ledger entry, named ``subject:action``."""

    FACILITY_LOADED = "facility:loaded"
    PLAYBOOK_PUBLISHED = "playbook:published"
    INCIDENT_OPENED = "incident:opened"
    INCIDENT_ACKNOWLEDGED = "incident:acknowledged"
    INCIDENT_TRANSITIONED = "incident:transitioned"
    INCIDENT_REOPENED = "incident:reopened"
    INCIDENT_ESCALATED = "incident:escalated"
    INCIDENT_NOTE_ADDED = "incident:note_added"
    INCIDENT_RECLASSIFIED = "incident:reclassified"
    SIGNAL_RAISED = "signal:raised"
    SIGNAL_CLEARED = "signal:cleared"
    SIGNAL_FLAPPING = "signal:flapping"
    EVIDENCE_CAPTURED = "evidence:captured"
    EVIDENCE_COLLECTED = "evidence:collected"
    EVIDENCE_TRANSFERRED = "evidence:transferred"
    EVIDENCE_ACCESSED = "evidence:accessed"
    EVIDENCE_SEALED = "evidence:sealed"
    EVIDENCE_RELEASED = "evidence:released"
    EVIDENCE_DESTROYED = "evidence:destroyed"
    DECISION_RECORDED = "decision:recorded"
    ROLE_ASSIGNED = "role:assigned"
    TASK_COMPLETED = "task:completed"
    TASK_REOPENED = "task:reopened"
    TASK_OVERDUE = "task:overdue"
    NOTIFICATION_QUEUED = "notification:queued"
    NOTIFICATION_SENT = "notification:sent"
    NOTIFICATION_FAILED = "notification:failed"
    ONCALL_OVERRIDDEN = "oncall:overridden"
    ONCALL_OVERRIDE_CANCELLED = "oncall:override_cancelled"
    TEMPLATE_STORED = "template:stored"
    TEMPLATE_APPROVED = "template:approved"
    STATEMENT_ISSUED = "statement:issued"
    STATEMENT_WITHDRAWN = "statement:withdrawn"
    STATEMENT_DUE = "statement:due"
    OBLIGATION_ASSESSED = "obligation:assessed"
    OBLIGATION_TRIGGERED = "obligation:triggered"
    OBLIGATION_WITHDRAWN = "obligation:withdrawn"
    OBLIGATION_RESCHEDULED = "obligation:rescheduled"
    OBLIGATION_WARNED = "obligation:warned"
    OBLIGATION_MISSED = "obligation:missed"
    REPORT_DRAFTED = "report:drafted"
    REPORT_EDITED = "report:edited"
    REPORT_REVIEWED = "report:reviewed"
    REPORT_SUBMITTED = "report:submitted"
    TOKEN_CREATED = "token:created"
    TOKEN_REVOKED = "token:revoked"
    PASSWORD_SET = "access:password_set"
    SESSION_STARTED = "access:session_started"
    SESSION_ENDED = "access:session_ended"
    BREAK_GLASS_TAKEN = "access:break_glass"
    BREAK_GLASS_ENDED = "access:break_glass_ended"
    FIELDS_REDACTED = "access:redacted"
    INCIDENT_LABELLED = "incident:labelled"
    RETENTION_PURGED = "retention:purged"
    AGREEMENTS_LOADED = "agreements:loaded"
    SHARE_OVERRIDDEN = "share:overridden"
    SHARE_SENT = "share:sent"
    PERIOD_SET = "incident:period_set"
    CHANGE_PROPOSED = "change:proposed"
    CHANGE_APPROVED = "change:approved"
    CHANGE_PRECONDITION_CHECKED = "change:precondition_checked"
    CHANGE_EXECUTED = "change:executed"
    CHANGE_VERIFIED = "change:verified"
    CHANGE_ROLLED_BACK = "change:rolled_back"
    CHANGE_CANCELLED = "change:cancelled"
    CONTAINMENT_OVERRIDDEN = "containment:overridden"
    RECOVERY_PLANNED = "recovery:planned"
    RECOVERY_STEP_STARTED = "recovery:step_started"
    RECOVERY_GATE_CHECKED = "recovery:gate_checked"
    RECOVERY_STEP_DONE = "recovery:step_done"
    RECOVERY_ROLLED_BACK = "recovery:rolled_back"
    RECOVERY_PAUSED = "recovery:paused"
    RECOVERY_RESUMED = "recovery:resumed"
    SUPPLY_LOADED = "supply:loaded"
    RISK_ADDED = "risk:added"
    RISK_UPDATED = "risk:updated"
    ADVISORY_RECORDED = "advisory:recorded"
    ADVISORY_WITHDRAWN = "advisory:withdrawn"
    REVIEW_STARTED = "review:started"
    FINDING_RECORDED = "finding:recorded"
    FINDING_UPDATED = "finding:updated"
    PLAYBOOK_CHANGE_PROPOSED = "playbook_change:proposed"
    PLAYBOOK_CHANGE_SUBMITTED = "playbook_change:submitted"
    PLAYBOOK_CHANGE_APPROVED = "playbook_change:approved"
    PLAYBOOK_CHANGE_REJECTED = "playbook_change:rejected"
    PLAYBOOK_REVIEWED = "playbook:reviewed"
    EXERCISE_STARTED = "exercise:started"
    EXERCISE_ADVANCED = "exercise:advanced"
    EXERCISE_INJECTED = "exercise:injected"
    EXERCISE_ENDED = "exercise:ended"
    CURRICULUM_LOADED = "curriculum:loaded"
    TRAINING_RECORDED = "training:recorded"
    QUALIFICATION_WARNED = "qualification:warned"
    QUALIFICATION_OVERRIDDEN = "qualification:overridden"
    QUALIFICATION_REMINDED = "qualification:reminded"
    ACCESS_FLAGGED = "access:flagged"
    ACCESS_EVENTS_PURGED = "access:events_purged"
    NEAR_MISS_REPORTED = "near_miss:reported"
    NEAR_MISS_CLOSED = "near_miss:closed"
    NEAR_MISS_REOPENED = "near_miss:reopened"
    LESSON_PUBLISHED = "lesson:published"
    LESSONS_IMPORTED = "lesson:imported"


ENTRY_TYPE_DESCRIPTIONS: dict[EntryType, str] = {
    EntryType.FACILITY_LOADED: "A facility file was loaded; payload counts what changed.",
    EntryType.PLAYBOOK_PUBLISHED: "A new playbook version was stored.",
    EntryType.INCIDENT_OPENED: "An incident was opened, classified and its playbook started.",
    EntryType.INCIDENT_ACKNOWLEDGED: "A responder acknowledged the incident.",
    EntryType.INCIDENT_TRANSITIONED: "The incident moved to another lifecycle phase.",
    EntryType.INCIDENT_REOPENED: "A resolved or closed incident was reopened.",
    EntryType.INCIDENT_ESCALATED: "The acknowledgement window passed; the next level was paged.",
    EntryType.INCIDENT_NOTE_ADDED: "A free-text note was added to the timeline.",
    EntryType.INCIDENT_RECLASSIFIED: "Impact, urgency or severity changed, and why.",
    EntryType.SIGNAL_RAISED: "A detection rule or external alert fired for an asset.",
    EntryType.SIGNAL_CLEARED: "A signal's condition returned to normal.",
    EntryType.SIGNAL_FLAPPING: "A signal changed too often; further changes are held back.",
    EntryType.EVIDENCE_CAPTURED: "Telemetry before an incident was kept, with its SHA-256.",
    EntryType.EVIDENCE_COLLECTED: "An evidence item entered the register: hash, size, labels, who.",
    EntryType.EVIDENCE_TRANSFERRED: "Custody of an evidence item passed to another person.",
    EntryType.EVIDENCE_ACCESSED: "Someone read an evidence item's content.",
    EntryType.EVIDENCE_SEALED: "An evidence item was sealed: no access until released.",
    EntryType.EVIDENCE_RELEASED: "A sealed evidence item was released, and why.",
    EntryType.EVIDENCE_DESTROYED: "An evidence item's content was destroyed; its record stays.",
    EntryType.DECISION_RECORDED: "A decision, its rationale and who took it.",
    EntryType.ROLE_ASSIGNED: "An ICS role on the incident changed hands.",
    EntryType.TASK_COMPLETED: "A task was marked done, or skipped with a reason.",
    EntryType.TASK_REOPENED: "A done or skipped task was opened again.",
    EntryType.TASK_OVERDUE: "A task passed its due time while still open.",
    EntryType.NOTIFICATION_QUEUED: "A message was put in the outbox for delivery.",
    EntryType.NOTIFICATION_SENT: "A message was delivered; payload names the channel that took it.",
    EntryType.NOTIFICATION_FAILED: "A message failed on every channel of its recipient: an alarm.",
    EntryType.ONCALL_OVERRIDDEN: "Someone was put on call in place of a rotation's turn, and why.",
    EntryType.ONCALL_OVERRIDE_CANCELLED: "An on-call override was cancelled.",
    EntryType.TEMPLATE_STORED: "A new version of a statement template was stored (as a draft).",
    EntryType.TEMPLATE_APPROVED: "Someone cleared a template version; payload says which approval.",
    EntryType.STATEMENT_ISSUED: "A statement went to an audience, from a named template version.",
    EntryType.STATEMENT_WITHDRAWN: "An issued statement was withdrawn (a CAP Cancel), and why.",
    EntryType.STATEMENT_DUE: "An audience's next update fell due, or is overdue; who was told.",
    EntryType.OBLIGATION_ASSESSED: "Triage answers deciding regulatory obligations were recorded.",
    EntryType.OBLIGATION_TRIGGERED: "A regulatory obligation applies; its report clocks started.",
    EntryType.OBLIGATION_WITHDRAWN: "An obligation ceased to apply; clocks of unsent reports stop.",
    EntryType.OBLIGATION_RESCHEDULED: "A report's deadline moved (awareness or an earlier report).",
    EntryType.OBLIGATION_WARNED: "A report's deadline is near; commander and liaison were told.",
    EntryType.OBLIGATION_MISSED: "A report's deadline passed unmet; the escalation was paged.",
    EntryType.REPORT_DRAFTED: "A regulatory report was drafted, pre-filled from the incident.",
    EntryType.REPORT_EDITED: "Fields of a report draft changed; the payload names them only.",
    EntryType.REPORT_REVIEWED: "Someone other than its authors reviewed a report draft.",
    EntryType.REPORT_SUBMITTED: "A report was marked submitted, with the SHA-256 of what was sent.",
    EntryType.TOKEN_CREATED: "An API token was issued to a person.",
    EntryType.TOKEN_REVOKED: "An API token was revoked.",
    EntryType.PASSWORD_SET: "A dashboard password was set or cleared (the password is never kept).",
    EntryType.SESSION_STARTED: "Someone signed in to the dashboard; payload says how.",
    EntryType.SESSION_ENDED: "A dashboard session ended: signed out, revoked or its token revoked.",
    EntryType.BREAK_GLASS_TAKEN: "Time-limited elevated access to an incident was taken, and why.",
    EntryType.BREAK_GLASS_ENDED: "Break-glass access was given up before it expired.",
    EntryType.FIELDS_REDACTED: "A read returned fields redacted for a reader not entitled to them.",
    EntryType.INCIDENT_LABELLED: "The incident's TLP label or its named recipients changed.",
    EntryType.AGREEMENTS_LOADED: "Partner agreements were loaded: which were new, which changed.",
    EntryType.SHARE_OVERRIDDEN: "An approver let a share the export guard blocked go, and why.",
    EntryType.SHARE_SENT: "A partner was sent a package, STIX bundle or TAXII page, with its hash.",
    EntryType.PERIOD_SET: "Joint objectives were set for an operational period (ICS 202).",
    EntryType.CHANGE_PROPOSED: "A containment change was proposed, from a playbook or ad hoc.",
    EntryType.CHANGE_APPROVED: "Someone other than the proposer approved a containment change.",
    EntryType.CHANGE_PRECONDITION_CHECKED: "A containment precondition was checked as met.",
    EntryType.CHANGE_EXECUTED: "A containment change was carried out.",
    EntryType.CHANGE_VERIFIED: "A containment change was verified to have had its effect, and how.",
    EntryType.CHANGE_ROLLED_BACK: "An executed containment change was rolled back, and why.",
    EntryType.CHANGE_CANCELLED: "A containment change was cancelled before execution, and why.",
    EntryType.CONTAINMENT_OVERRIDDEN: "The commander let containment go past unverified changes.",
    EntryType.RECOVERY_PLANNED: "A restoration plan was made or recomputed; a new version.",
    EntryType.RECOVERY_STEP_STARTED: "Work began on bringing one asset back.",
    EntryType.RECOVERY_GATE_CHECKED: "A verification gate was judged, by telemetry or by a person.",
    EntryType.RECOVERY_STEP_DONE: "An asset passed every verification gate and is back.",
    EntryType.RECOVERY_ROLLED_BACK: "A failed gate rolled a step back to its last good point.",
    EntryType.RECOVERY_PAUSED: "A new anomaly paused a branch of the restoration plan.",
    EntryType.RECOVERY_RESUMED: "A paused branch of the restoration plan was resumed.",
    EntryType.SUPPLY_LOADED: "Spares and vendor contracts were loaded; payload counts them.",
    EntryType.RISK_ADDED: "A risk was added to the register, from the API, CLI or a file.",
    EntryType.RISK_UPDATED: "A risk's fields changed; payload gives each old and new value.",
    EntryType.ADVISORY_RECORDED: "A threat advisory or supply-chain alert now raises likelihoods.",
    EntryType.ADVISORY_WITHDRAWN: "An advisory was withdrawn and no longer raises likelihoods.",
    EntryType.RETENTION_PURGED: "Retention purged content past its period; leaf hashes were kept.",
    EntryType.REVIEW_STARTED: "An after-action review of the incident was started.",
    EntryType.FINDING_RECORDED: "A review finding was recorded with its owner and due date.",
    EntryType.FINDING_UPDATED: "A finding's status, owner, due date or text changed.",
    EntryType.PLAYBOOK_CHANGE_PROPOSED: "A new playbook version was proposed for a finding.",
    EntryType.PLAYBOOK_CHANGE_SUBMITTED: "A proposed playbook change was submitted for review.",
    EntryType.PLAYBOOK_CHANGE_APPROVED: "A reviewer approved a playbook change; it was published.",
    EntryType.PLAYBOOK_CHANGE_REJECTED: "A proposed playbook change was rejected, and why.",
    EntryType.PLAYBOOK_REVIEWED: "A playbook was reviewed and judged still right: no change.",
    EntryType.EXERCISE_STARTED: "An exercise run of a scenario began, with its clock mode.",
    EntryType.EXERCISE_ADVANCED: "The director stepped the exercise clock on.",
    EntryType.EXERCISE_INJECTED: "An exercise inject fired: telemetry, message or complication.",
    EntryType.EXERCISE_ENDED: "An exercise run ended; its clock stopped.",
    EntryType.CURRICULUM_LOADED: "A new version of the training curriculum is in force.",
    EntryType.TRAINING_RECORDED: "A course completion or exercise participation was recorded.",
    EntryType.QUALIFICATION_WARNED: "A role went to someone not qualified for it; allowed, warned.",
    EntryType.QUALIFICATION_OVERRIDDEN: "A role went to someone not qualified, with the reason.",
    EntryType.QUALIFICATION_REMINDED: "A person was reminded their qualification lapses soon.",
    EntryType.ACCESS_FLAGGED: "Unusual reading of incident data was raised as a security signal.",
    EntryType.ACCESS_EVENTS_PURGED: "Recorded reads past the access-event period were deleted.",
    EntryType.NEAR_MISS_REPORTED: "A near miss was reported (by `anonymous` when asked).",
    EntryType.NEAR_MISS_CLOSED: "A near miss's review was closed, saying what came of it.",
    EntryType.NEAR_MISS_REOPENED: "A closed near miss's review was reopened.",
    EntryType.LESSON_PUBLISHED: "A finding was published, anonymised, to the lessons library.",
    EntryType.LESSONS_IMPORTED: "A partner's signed lessons package was verified and imported.",
}


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def entry_bytes(
    *,
    seq: int,
    entry_type: str,
    recorded_at: datetime,
    actor: str,
    subject: str,
    incident_id: int | None,
    payload: bytes,
) -> bytes:
    """Return the exact bytes that identify one entry; the Merkle leaf is built from these."""
    return canonical_json(
        {
            "seq": seq,
            "type": entry_type,
            "recorded_at": recorded_at,
            "actor": actor,
            "subject": subject,
            "incident_id": incident_id,
            "payload": orjson.Fragment(payload),
        }
    )
