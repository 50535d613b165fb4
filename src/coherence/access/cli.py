"""`coherence token`: issue, list and revoke API tokens."""

from __future__ import annotations

import typer

from coherence import console
from coherence.access import service

app = typer.Typer(
    help="API tokens for people (the API and dashboard need one).", no_args_is_help=True
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
    if not yes:
        console.err.print(
            f"This revokes token {token_id}; anything using it loses access. "
            "Run again with --yes to do it."
        )
        raise typer.Exit(1)
    with console.session() as session:
        service.revoke_token(
            session, clock=console.clock(), token_id=token_id, actor=console.actor(as_person)
        )
    console.out.print(f"token {token_id} revoked")
