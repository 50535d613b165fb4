"""Scoring an exercise, purely: milestones against targets, checklist adherence, clarity of
what lay audiences were sent, decisions with rationale, and where the team waited longest.

Every time is in exercise minutes from the start. Milestones are measured from detection
(detection itself from the first fault's onset); a step is due its time box after detection.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coherence.comms.plain import PLAIN_FROM, check_plain
from coherence.errors import ValidationFailed
from coherence.exercises.domain import Milestone

MIN_RATIONALE_WORDS = 3
ON_TIME, LATE, SKIPPED, MISSED, PENDING = "on time", "late", "skipped", "missed", "pending"


@dataclass(frozen=True)
class StepPlan:
    """A playbook step as scored: owner role, time box and the steps it waits for."""

    key: str
    title: str
    role: str
    due: float
    after: tuple[str, ...]


@dataclass(frozen=True)
class TaskFact:
    """Where a step's task ended up: open, done or skipped, when and by whom."""

    status: str
    at: float | None
    by: str | None


@dataclass(frozen=True)
class Sent:
    """A message to a non-technical audience."""

    audience: str
    title: str
    body: str
    at: float


@dataclass(frozen=True)
class Decision:
    """A recorded decision."""

    text: str
    rationale: str
    by: str
    at: float


@dataclass(frozen=True)
class Facts:
    """What happened in the exercise, in exercise minutes."""

    steps: tuple[StepPlan, ...]
    targets: Mapping[str, float]
    onset: float | None
    milestones: Mapping[str, float | None]
    tasks: Mapping[str, TaskFact]
    now: float
    sent: tuple[Sent, ...] = ()
    decisions: tuple[Decision, ...] = ()


@dataclass(frozen=True)
class MilestoneScore:
    """Time to one milestone against its target."""

    name: str
    at: float | None
    took: float | None
    target: float | None
    verdict: str


@dataclass(frozen=True)
class StepScore:
    """One checklist step: due, done, verdict, order, and how long it waited."""

    key: str
    title: str
    role: str
    due_at: float
    done_at: float | None
    by: str | None
    verdict: str
    late_by: float | None
    out_of_order: bool
    ready_at: float
    wait: float


@dataclass(frozen=True)
class Clarity:
    """The plain-language score of one message to a lay audience."""

    audience: str
    title: str
    score: int | None
    grade: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class RoleWait:
    """How long a role's steps waited, in total and at worst."""

    role: str
    total: float
    worst_step: str
    worst_wait: float
    steps: int


@dataclass(frozen=True)
class Score:
    """The whole assessment."""

    milestones: tuple[MilestoneScore, ...]
    steps: tuple[StepScore, ...]
    clarity: tuple[Clarity, ...]
    decisions: tuple[Decision, ...]
    critical_path: tuple[StepScore, ...]
    bottleneck: StepScore | None
    by_role: tuple[RoleWait, ...]
    scores: Mapping[str, float | None]
    findings: tuple[str, ...]


def minutes(value: float) -> str:
    """A duration in words: ``7 min``, ``1 h 05 min``."""
    whole = round(value)
    return f"{whole // 60} h {whole % 60:02d} min" if whole >= 60 else f"{whole} min"


def score(facts: Facts) -> Score:
    """Assess an exercise from what happened in it."""
    milestones = tuple(_milestone(facts, m) for m in Milestone)
    steps = _steps(facts)
    path = _critical_path(steps, facts)
    bottleneck = max(path, key=lambda s: s.wait, default=None)
    by_role = _by_role(steps)
    clarity = tuple(_clarity(s) for s in facts.sent)
    scores = _scores(milestones, steps, clarity, facts.decisions)
    findings = _findings(facts, milestones, steps, bottleneck, by_role, clarity)
    return Score(
        milestones, steps, clarity, facts.decisions, path, bottleneck, by_role, scores, findings
    )


def _milestone(facts: Facts, milestone: Milestone) -> MilestoneScore:
    detected = facts.milestones.get(Milestone.DETECTED.value)
    origin = (facts.onset or 0.0) if milestone is Milestone.DETECTED else detected
    at = facts.milestones.get(milestone.value)
    target = facts.targets.get(milestone.value)
    took = None if at is None or origin is None else max(0.0, at - origin)
    if took is not None:
        verdict = "reached" if target is None else ON_TIME if took <= target else LATE
    elif origin is not None and target is not None and facts.now - origin > target:
        verdict = MISSED
    else:
        verdict = PENDING if origin is not None else "not reached"
    return MilestoneScore(milestone.value, at, took, target, verdict)


def _finish(fact: TaskFact | None) -> float | None:
    return fact.at if fact is not None and fact.status != "open" else None


def _steps(facts: Facts) -> tuple[StepScore, ...]:
    detected = facts.milestones.get(Milestone.DETECTED.value)
    if detected is None:
        return ()
    scored = []
    for step in facts.steps:
        fact = facts.tasks.get(step.key)
        done = _finish(fact)
        end = facts.now if done is None else done
        before = [_finish(facts.tasks.get(p)) for p in step.after]
        ready = max([detected, *(b for b in before if b is not None and b <= end)])
        due_at = detected + step.due
        out_of_order = done is not None and any(b is None or b > done for b in before)
        # A step still held up by an unfinished one is blocked, not waiting on its owner.
        blocked = done is None and any(b is None for b in before)
        if fact is not None and fact.status == "skipped":
            verdict, late_by = SKIPPED, None
        elif done is not None:
            late_by = max(0.0, done - due_at)
            verdict = ON_TIME if done <= due_at else LATE
        else:
            late_by = max(0.0, facts.now - due_at) if facts.now > due_at else None
            verdict = MISSED if facts.now > due_at else PENDING
        scored.append(
            StepScore(
                step.key,
                step.title,
                step.role,
                due_at,
                done,
                fact.by if fact else None,
                verdict,
                late_by,
                out_of_order,
                ready,
                0.0 if blocked else max(0.0, end - ready),
            )
        )
    return tuple(scored)


def _critical_path(steps: Sequence[StepScore], facts: Facts) -> tuple[StepScore, ...]:
    """Back from the step that finished last, through the predecessor that held each one up."""
    by_key = {s.key: s for s in steps}
    after = {s.key: s.after for s in facts.steps}

    def end(step: StepScore) -> float:
        return facts.now if step.done_at is None else step.done_at

    def depth(key: str, seen: frozenset[str] = frozenset()) -> int:
        preds = [p for p in after.get(key, ()) if p in by_key and p not in seen]
        return 1 + max((depth(p, seen | {key}) for p in preds), default=0)

    if not steps:
        return ()
    current: StepScore | None = max(steps, key=lambda s: (end(s), depth(s.key)))
    path: list[StepScore] = []
    while current is not None and current not in path:
        path.append(current)
        holding = [
            by_key[p]
            for p in after.get(current.key, ())
            if p in by_key and end(by_key[p]) <= end(current)
        ]
        current = max(holding, key=lambda s: (end(s), depth(s.key)), default=None)
    return tuple(reversed(path))


def _by_role(steps: Sequence[StepScore]) -> tuple[RoleWait, ...]:
    roles: dict[str, list[StepScore]] = {}
    for step in steps:
        roles.setdefault(step.role, []).append(step)
    waits = []
    for role, owned in roles.items():
        worst = max(owned, key=lambda s: s.wait)
        waits.append(RoleWait(role, sum(s.wait for s in owned), worst.key, worst.wait, len(owned)))
    return tuple(sorted(waits, key=lambda w: (-w.total, w.role)))


def _clarity(sent: Sent) -> Clarity:
    try:
        report = check_plain(sent.body)
    except ValidationFailed as exc:
        return Clarity(sent.audience, sent.title, None, "not scored", (exc.message,))
    problems = tuple(f.message for f in report.findings)
    return Clarity(sent.audience, sent.title, report.score, report.grade, problems)


def _share(hits: int, total: int) -> float | None:
    return None if total == 0 else round(100 * hits / total, 1)


def has_rationale(decision: Decision) -> bool:
    """Whether a decision says why, in a few words at least."""
    return len(decision.rationale.split()) >= MIN_RATIONALE_WORDS


def _scores(
    milestones: Sequence[MilestoneScore],
    steps: Sequence[StepScore],
    clarity: Sequence[Clarity],
    decisions: Sequence[Decision],
) -> dict[str, float | None]:
    judged = [m for m in milestones if m.verdict in (ON_TIME, LATE, MISSED)]
    done = [s for s in steps if s.verdict != PENDING]
    plain = [c.score for c in clarity if c.score is not None]
    found: dict[str, float | None] = {
        "milestones": _share(sum(m.verdict == ON_TIME for m in judged), len(judged)),
        "checklist": _share(
            sum(s.verdict == ON_TIME and not s.out_of_order for s in done), len(done)
        ),
        "clarity": round(statistics.fmean(plain), 1) if plain else None,
        "decisions": _share(sum(has_rationale(d) for d in decisions), len(decisions)),
    }
    present = [v for v in found.values() if v is not None]
    found["overall"] = round(statistics.fmean(present), 1) if present else None
    return found


def _findings(
    facts: Facts,
    milestones: Sequence[MilestoneScore],
    steps: Sequence[StepScore],
    bottleneck: StepScore | None,
    by_role: Sequence[RoleWait],
    clarity: Sequence[Clarity],
) -> tuple[str, ...]:
    found = []
    for m in milestones:
        name = m.name.replace("_", " ")
        if m.verdict == LATE and m.took is not None and m.target is not None:
            found.append(
                f"Late milestone: {name} took {minutes(m.took)} against a target of "
                f"{minutes(m.target)} ({minutes(m.took - m.target)} late)."
            )
        elif m.verdict == MISSED and m.target is not None:
            found.append(f"Missed milestone: {name} not reached within {minutes(m.target)}.")
    for s in steps:
        if s.verdict == LATE and s.late_by is not None:
            found.append(
                f"Late step: {s.key} ({s.role}) was done {minutes(s.late_by)} after it was due."
            )
        elif s.verdict == SKIPPED:
            found.append(f"Skipped step: {s.key} ({s.role}).")
        elif s.verdict == MISSED:
            found.append(f"Missed step: {s.key} ({s.role}) was never done; it was due.")
        if s.out_of_order:
            found.append(f"Out of order: {s.key} was done before a step it waits for.")
    if bottleneck is not None and bottleneck.wait > 0:
        found.append(
            f"Bottleneck: {bottleneck.key} ({bottleneck.role}) waited {minutes(bottleneck.wait)} "
            "after it could start, the longest wait on the critical path."
        )
    if by_role and by_role[0].total > 0:
        slowest = by_role[0]
        found.append(
            f"Slowest role: {slowest.role}, {minutes(slowest.total)} of waiting over "
            f"{slowest.steps} step(s), most on {slowest.worst_step}."
        )
    for c in clarity:
        if c.score is not None and c.score < PLAIN_FROM:
            found.append(
                f"Unclear message to {c.audience}: '{c.title}' scored {c.score} ({c.grade})."
            )
    if not facts.sent:
        found.append("No statement went to a non-technical audience during the exercise.")
    if not facts.decisions:
        found.append("No decision was recorded.")
    found += [
        f"Decision without a rationale: '{d.text}' ({d.by})."
        for d in facts.decisions
        if not has_rationale(d)
    ]
    return tuple(found)
