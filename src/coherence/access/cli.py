"""`coherence token`, `password`, `session` and `access`: who may sign in, and what they may do."""

from __future__ import annotations

import sys

import typer

from coherence import console
from coherence.access import break_glass, guard, passwords, service, sessions
from coherence.access.policy import Action
from coherence.catalog import service as catalog_service
from coherence.errors import ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference

app = typer.Typer(
    help="API tokens for people (the API and dashboard need one).", no_args_is_help=True
)
password_app = typer.Typer(
    help="Dashboard passwords (stored only as argon2id hashes).", no_args_is_help=True
)
session_app = typer.Typer(help="Dashboard sign-in sessions.", no_args_is_help=True)
access_app = typer.Typer(
    help="The access policy: explain a decision, take or end break-glass access.",
    no_args_is_help=True,
)


@app.command("create")
@console.handle_errors
def create(
    person: str = typer.Option(..., help="Person key the token belongs to."),
    name: str = typer.Option("cli", help="A label, e.g. the device it is for."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Issue a token; it is printed once and stored only as a hash."""
    console.validated_text(name, "name", max_length=100)
    with console.session() as session:
        _row, secret = service.create_token(
            session,
            clock=console.clock(),
            person_key=person,
            name=name,
            actor=console.actor(as_person),
        )
    console.err.print(f"Token for {person} (shown once; store it safely):")
    console.out.print(secret)


@app.command("list")
@console.handle_errors
def list_tokens(json: bool = console.JSON_OPTION) -> None:
    """List tokens by prefix (the secrets are not stored)."""
    with console.session() as session:
        rows = [
            {
                "id": t.id,
                "person": t.person.key,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at,
                "revoked_at": t.revoked_at,
            }
            for t in service.list_tokens(session)
        ]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "API tokens",
        ["id", "person", "name", "prefix", "created", "revoked"],
        [tuple(r.values()) for r in rows],
    )


@app.command("revoke")
@console.handle_errors
def revoke(
    token_id: int = typer.Argument(..., help="Token id from `token list`."),
    yes: bool = typer.Option(False, "--yes", help="Confirm; the token stops working at once."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Revoke a token."""
    console.require_yes(yes, f"This revokes token {token_id}; anything using it loses access.")
    with console.session() as session:
        service.revoke_token(
            session, clock=console.clock(), token_id=token_id, actor=console.actor(as_person)
        )
    console.out.print(f"token {token_id} revoked")


@password_app.command("set")
@console.handle_errors
def password_set(
    person: str = typer.Argument(..., help="Person key whose password to set."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from one line of standard input."
    ),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Set a person's dashboard password (asked twice, hidden), replacing any old one."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = str(
            typer.prompt(
                f"Password for {person}", hide_input=True, confirmation_prompt=True, err=True
            )
        )
    with console.session() as session:
        passwords.set_password(
            session,
            clock=console.clock(),
            person_key=person,
            password=password,
            actor=console.actor(as_person),
        )
    console.out.print(f"password set for {person}")


@password_app.command("clear")
@console.handle_errors
def password_clear(
    person: str = typer.Argument(..., help="Person key whose password to remove."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Remove a person's password; they can still sign in with a token."""
    with console.session() as session:
        passwords.clear_password(
            session, clock=console.clock(), person_key=person, actor=console.actor(as_person)
        )
    console.out.print(f"password cleared for {person}")


@session_app.command("list")
@console.handle_errors
def list_sessions(json: bool = console.JSON_OPTION) -> None:
    """List live dashboard sessions (neither ended nor expired)."""
    with console.session() as session:
        rows = [
            {
                "id": s.id,
                "person": s.person.key,
                "via": s.via,
                "created_at": s.created_at,
                "expires_at": s.expires_at,
            }
            for s in sessions.list_live_sessions(session, clock=console.clock())
        ]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Dashboard sessions",
        ["id", "person", "via", "created", "expires"],
        [tuple(r.values()) for r in rows],
    )


@session_app.command("end")
@console.handle_errors
def end_session(
    session_id: int = typer.Argument(..., help="Session id from `session list`."),
    yes: bool = typer.Option(False, "--yes", help="Confirm; the person is signed out at once."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """End a dashboard session; its cookie stops working."""
    console.require_yes(yes, f"This ends session {session_id}; its browser is signed out.")
    with console.session() as session:
        sessions.end_session(
            session, clock=console.clock(), session_id=session_id, actor=console.actor(as_person)
        )
    console.out.print(f"session {session_id} ended")


@access_app.command("check")
@console.handle_errors
def check(
    person: str = typer.Argument(..., help="Person key to ask about."),
    action: Action = typer.Argument(..., help="What they would do, e.g. read, record, close."),
    incident: str | None = typer.Option(
        None, help="Incident id or reference, for incident actions."
    ),
    json: bool = console.JSON_OPTION,
) -> None:
    """Explain what the access policy decides for a person, and why."""
    with console.session() as session:
        who = catalog_service.get_person_or_raise(session, person)
        target = incidents_service.get_or_raise(session, incident) if incident else None
        if action.on_incident and target is None:
            raise ValidationFailed(
                f"{action.value} is about an incident; give --incident", field="incident"
            )
        decision = guard.decide_for(
            session, person=who, action=action, now=console.clock().now(), incident=target
        )
    unredacted = sorted(c.value for c in decision.entitled)
    result = {
        "person": person,
        "action": action.value,
        "incident": incident,
        "allowed": decision.allowed,
        "reason": decision.reason,
        "relation": decision.relation.value,
        "unredacted": unredacted,
    }
    if json:
        console.print_json(result)
        return
    verdict = "ALLOWED" if decision.allowed else "REFUSED"
    console.out.print(f"{verdict}: {person} {action.value}{f' {incident}' if incident else ''}")
    console.out.print(f"why: {decision.reason}")
    console.out.print(f"relation: {decision.relation.value}")
    if decision.allowed:
        console.out.print(f"reads unredacted: {', '.join(unredacted) or 'nothing'}")


@access_app.command("break-glass")
@console.handle_errors
def take_break_glass(
    incident: str = typer.Argument(..., help="Incident id or reference."),
    reason: str = typer.Option(..., help="Why you need emergency access; sent to the IC."),
    minutes: int = typer.Option(break_glass.DEFAULT_MINUTES, help="How long (at most 240)."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Take time-limited emergency access to an incident (needs --as: the person taking it)."""
    if not as_person:
        raise ValidationFailed("say who is taking access with --as PERSON", field="as")
    with console.session() as session:
        grant = break_glass.take(
            session,
            clock=console.clock(),
            person_key=as_person,
            ref=incident,
            reason=reason,
            minutes=minutes,
        )
        grant_id, until = grant.id, grant.expires_at
    console.out.print(f"break-glass grant {grant_id} until {until:%Y-%m-%d %H:%M} UTC")


@access_app.command("end-break-glass")
@console.handle_errors
def end_break_glass(
    grant_id: int = typer.Argument(..., help="Grant id from `access grants`."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Give up a break-glass grant before it expires (its holder or an administrator)."""
    if not as_person:
        raise ValidationFailed("say who you are with --as PERSON", field="as")
    with console.session() as session:
        actor = catalog_service.get_person_or_raise(session, as_person, field="as")
        break_glass.end(session, clock=console.clock(), grant_id=grant_id, actor=actor)
    console.out.print(f"break-glass grant {grant_id} ended")


@access_app.command("grants")
@console.handle_errors
def list_grants(
    active: bool = typer.Option(False, "--active", help="Only grants still in force."),
    json: bool = console.JSON_OPTION,
) -> None:
    """List break-glass grants, newest first, for review."""
    clock = console.clock()
    with console.session() as session:
        rows = [
            {
                "id": g.id,
                "person": g.person.key,
                "incident": reference(g.incident_id),
                "reason": g.reason,
                "started_at": g.started_at,
                "expires_at": g.expires_at,
                "ended_at": g.ended_at,
            }
            for g in break_glass.grants(session, now=clock.now(), active_only=active)
        ]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Break-glass grants",
        ["id", "person", "incident", "reason", "started", "expires", "ended"],
        [tuple(r.values()) for r in rows],
    )
