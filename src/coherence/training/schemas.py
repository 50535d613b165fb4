"""The curriculum and training-record documents, and the shapes the training API returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from coherence.catalog.domain import IcsRole
from coherence.documents import Key, StrictDocument
from coherence.training.domain import Course, CourseKind, Curriculum

RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Note = Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)]
Score = Annotated[float, Field(ge=0, le=100, description="Percent, 0 to 100.")]
ICS_ROLES = frozenset(r.value for r in IcsRole)


class CourseSpec(StrictDocument):
    """A course or drill, the roles it is required for, and how long it stays valid."""

    key: Key
    title: Title
    kind: CourseKind = CourseKind.COURSE
    qualifies_for: list[RoleName] = Field(min_length=1, max_length=20)
    validity_days: int = Field(ge=1, le=3650, description="Days a completion stays valid.")
    pass_score: Score | None = Field(
        None, description="For a drill: the exercise score that passes it; none: taking part."
    )
    playbook: Key | None = Field(None, description="The facility playbook the drill rehearses.")
    description: Note = ""

    @model_validator(mode="after")
    def _pass_score_only_for_drills(self) -> CourseSpec:
        if self.pass_score is not None and self.kind is not CourseKind.DRILL:
            raise ValueError("pass_score is for drills; a course is passed by completing it")
        return self


class CurriculumDocument(StrictDocument):
    """The facility's curriculum: courses and drills, the roles checked on assignment, and
    how many days ahead of a lapse to remind people."""

    checked_roles: list[RoleName] = Field(
        default_factory=lambda: ["incident_commander", "safety_officer"], max_length=50
    )
    facility_roles: list[RoleName] = Field(
        default_factory=list,
        max_length=50,
        description="Roles beyond the ICS ones that courses may qualify people for.",
    )
    reminder_days: list[Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=lambda: [30, 7], max_length=10
    )
    courses: list[CourseSpec] = Field(min_length=1, max_length=500)

    def curriculum(self) -> Curriculum:
        """The rules' view of this document."""
        courses = {
            c.key: Course(
                c.key, c.title, c.kind, frozenset(c.qualifies_for), c.validity_days, c.pass_score
            )
            for c in self.courses
        }
        return Curriculum(courses, frozenset(self.checked_roles), tuple(self.reminder_days))

    def problems(self) -> list[dict[str, str]]:
        """Each reference to an unknown role, and each repeated key, with its path."""
        known = ICS_ROLES | set(self.facility_roles)
        choices = ", ".join(sorted(known))
        found = [
            {"path": f"courses[{i}].qualifies_for[{j}]", "message": f"no role {r!r}; use {choices}"}
            for i, c in enumerate(self.courses)
            for j, r in enumerate(c.qualifies_for)
            if r not in known
        ]
        taught = {r for c in self.courses for r in c.qualifies_for}
        found += [
            {"path": f"checked_roles[{i}]", "message": f"no course qualifies for {r!r}"}
            for i, r in enumerate(self.checked_roles)
            if r not in taught
        ]
        found += [
            {"path": f"facility_roles[{i}]", "message": f"{r!r} is an ICS role already"}
            for i, r in enumerate(self.facility_roles)
            if r in ICS_ROLES
        ]
        keys = [c.key for c in self.courses]
        found += [
            {"path": f"courses[{i}].key", "message": f"course {k!r} is listed twice"}
            for i, k in enumerate(keys)
            if k in keys[:i]
        ]
        return found


class CompletionCreate(StrictDocument):
    """A course (or drill) someone completed."""

    course: Key
    completed_on: date
    assessor: Title = Field(description="Who taught or assessed it.")
    evidence: Note = Field("", description="Certificate number, attendance sheet, where kept.")


class ParticipationCreate(StrictDocument):
    """Taking part in an exercise; with a drill and a passing score it also renews the drill."""

    exercise: Title = Field(description="The exercise, e.g. its reference or title.")
    completed_on: date
    drill: Key | None = Field(None, description="The curriculum drill it counts for, if any.")
    role: RoleName | None = Field(None, description="The role played.")
    score: Score | None = None
    assessor: Title = Field("exercise director", description="Who scored it.")
    evidence: Note = ""


class CompletionSpec(CompletionCreate):
    """A completion in a records file."""

    person: Key


class ParticipationSpec(ParticipationCreate):
    """An exercise participation in a records file."""

    person: Key


class RecordsDocument(StrictDocument):
    """A file of training records (completions and exercise participations)."""

    completions: list[CompletionSpec] = Field(default_factory=list, max_length=50_000)
    exercises: list[ParticipationSpec] = Field(default_factory=list, max_length=50_000)


class CourseRead(BaseModel):
    """A course or drill of the curriculum in force."""

    key: str
    title: str
    kind: str
    qualifies_for: list[str]
    validity_days: int
    pass_score: float | None
    playbook: str | None
    description: str


class CurriculumRead(BaseModel):
    """The curriculum in force."""

    version: int
    source: str
    loaded_at: datetime
    loaded_by: str
    checked_roles: list[str]
    facility_roles: list[str]
    reminder_days: list[int]
    courses: list[CourseRead]


class CurriculumLoaded(BaseModel):
    """What loading a curriculum did."""

    version: int
    changed: bool
    courses: int


class RecordsLoaded(BaseModel):
    """What loading a records file did; records already held are not added twice."""

    created: int
    unchanged: int


class RecordRead(BaseModel):
    """One training record."""

    id: int
    person: str
    kind: str
    course: str | None
    exercise: str | None
    role_played: str | None
    score: float | None
    completed_on: date
    assessor: str
    evidence: str
    recorded_at: datetime
    recorded_by: str


class LapsedCourse(BaseModel):
    """A course whose completion is out of date."""

    course: str
    lapsed_on: date


class QualificationRead(BaseModel):
    """A person's standing for one role."""

    role: str
    standing: str = Field(description="qualified, lapsed or unqualified.")
    expires_on: date | None = Field(description="The day it lapses (or lapsed).")
    missing: list[str] = Field(description="Required courses never completed.")
    lapsed: list[LapsedCourse]
    renew: list[str] = Field(description="The courses to take next to keep or regain it.")
    checked: bool = Field(description="Whether assigning this role is checked.")


class PersonTraining(BaseModel):
    """A person's training record and the qualifications it gives them."""

    person: str
    name: str
    roles: list[str] = Field(description="The ICS roles the facility file gives them.")
    qualifications: list[QualificationRead]
    records: list[RecordRead]


class ShiftRead(BaseModel):
    """One shift of a rotation for a checked role."""

    rotation: str
    starts_at: datetime
    ends_at: datetime
    on_call: str
    on_call_qualified: bool
    qualified: list[str] = Field(description="Everyone qualified who could take the shift.")
    depth: int
    fragile: bool = Field(description="A single absence leaves the role uncovered.")


class RoleReadinessRead(BaseModel):
    """One checked role at one site over the horizon."""

    site: str
    role: str
    status: str = Field(description="ready, fragile, gap or no_rotation.")
    rotations: list[str]
    borrowed: bool = Field(description="Covered by another site's rotation.")
    min_depth: int
    shifts: int
    gaps: int = Field(description="Shifts whose on-call person is not qualified.")
    fragile_shifts: int
    problem_shifts: list[ShiftRead] = Field(description="Shifts with a gap or a single point.")


class OnCallGap(BaseModel):
    """An on-call shift held by someone not qualified for its role."""

    rotation: str
    site: str
    role: str
    person: str
    starts_at: datetime
    ends_at: datetime
    problem: str


class ReadinessRead(BaseModel):
    """Readiness of every site for the checked roles."""

    at: datetime
    until: datetime
    checked_roles: list[str]
    roles: list[RoleReadinessRead]
    on_call_gaps: list[OnCallGap]
