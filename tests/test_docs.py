"""The docs are tested: whatever exists in the code must be documented, and links must work.

None of these tests needs a database.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
import typer.main
import yaml
from fastapi import FastAPI

import coherence
from coherence.cli import app as cli_app
from coherence.http import ERROR_RESPONSES, ErrorBody
from coherence.incidents.domain import METRIC_DESCRIPTIONS, TRANSITIONS
from coherence.ledger.domain import EntryType
from coherence.playbooks.domain import standard_scheme
from coherence.playbooks.service import library_sources
from coherence.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

QUICK_START_RUN = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && "
    ".venv/bin/coherence init --sample && "
    ".venv/bin/coherence serve --simulate --fault cooling-outage@fridge-1"
)
QUICK_START_TEST = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"
# Environment variables the docs may name that are not fields of Settings.
NOT_SETTINGS = {"COHERENCE_AS", "COHERENCE_TEST_POSTGRES_URL"}
API_PREFIX = "/api/v1"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _command_paths() -> list[str]:
    """Every leaf command of `coherence`, e.g. "incident open", "init"."""
    paths: list[str] = []

    def walk(command: object, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            paths.append(" ".join(path))
            return
        for name, sub in subcommands.items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(cli_app), [])
    return sorted(paths)


def _api_routes() -> set[tuple[str, str]]:
    """(method, path) of every route under /api/v1, from each capability's api.py router."""
    app = FastAPI()
    for module in pkgutil.iter_modules(coherence.__path__):
        if not module.ispkg:
            continue
        name = f"coherence.{module.name}.api"
        try:
            api = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        app.include_router(api.router)
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(API_PREFIX)
        for method in operations
    }


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.strip().lower().replace("`", "")
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", _read(path), flags=re.DOTALL)
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}


def test_command_discovery_finds_the_known_commands() -> None:
    paths = _command_paths()
    for expected in ("init", "serve", "incident open", "task done", "db upgrade"):
        assert expected in paths


@pytest.mark.parametrize("path", _command_paths())
def test_every_cli_command_is_in_cli_md(path: str) -> None:
    assert f"coherence {path}" in _read(DOCS / "cli.md"), (
        f"`coherence {path}` is missing from docs/cli.md"
    )


def test_cli_md_lists_no_command_that_does_not_exist() -> None:
    listed = re.findall(r"^\| `coherence ([a-z][a-z -]*?)`", _read(DOCS / "cli.md"), re.MULTILINE)
    assert listed
    unknown = sorted(set(listed) - set(_command_paths()))
    assert not unknown, f"docs/cli.md lists commands that do not exist: {unknown}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_operations_md(name: str) -> None:
    variable = f"COHERENCE_{name.upper()}"
    assert f"`{variable}`" in _read(DOCS / "operations.md"), (
        f"{variable} is missing from docs/operations.md"
    )


def test_docs_name_no_setting_that_does_not_exist() -> None:
    known = {f"COHERENCE_{name.upper()}" for name in Settings.model_fields} | NOT_SETTINGS
    for page in [README, *_pages()]:
        named = set(re.findall(r"COHERENCE_[A-Z][A-Z_]*[A-Z]", _read(page)))
        assert named <= known, f"{page.name} names unknown variables: {sorted(named - known)}"


@pytest.mark.parametrize("entry_type", [t.value for t in EntryType])
def test_every_ledger_entry_type_is_in_ledger_md(entry_type: str) -> None:
    assert f"`{entry_type}`" in _read(DOCS / "ledger.md"), (
        f"ledger entry type {entry_type} is missing from docs/ledger.md"
    )


def test_route_discovery_finds_the_known_routes() -> None:
    routes = _api_routes()
    assert ("POST", "/api/v1/incidents") in routes
    assert ("PATCH", "/api/v1/tasks/{task_id}") in routes


@pytest.mark.parametrize(
    ("method", "path"), sorted(_api_routes()), ids=lambda value: str(value).strip("/")
)
def test_every_api_route_is_in_api_md(method: str, path: str) -> None:
    assert f"{method} {path}" in _read(DOCS / "api.md"), (
        f"{method} {path} is missing from docs/api.md"
    )


def test_api_md_lists_no_route_that_does_not_exist() -> None:
    listed = set(
        re.findall(r"`(GET|POST|PATCH|PUT|DELETE) (/api/v1/[^`\s?]*)`", _read(DOCS / "api.md"))
    )
    assert listed
    unknown = sorted(listed - _api_routes())
    assert not unknown, f"docs/api.md lists routes that do not exist: {unknown}"


def test_every_error_body_key_and_declared_status_is_in_api_md() -> None:
    text = _read(DOCS / "api.md")
    missing = [f"`{key}`" for key in ErrorBody.model_fields if f"| `{key}` |" not in text]
    missing += [str(status) for status in ERROR_RESPONSES if f"| {status} |" not in text]
    assert not missing, f"docs/api.md does not explain {missing}"


def test_readme_has_both_quick_start_commands_verbatim() -> None:
    readme = _read(README)
    assert QUICK_START_RUN in readme
    assert QUICK_START_TEST in readme


def test_the_ci_script_runs_the_readme_test_command() -> None:
    ci = _read(ROOT / ".ci" / "run").replace("pip install -q ", "pip install ")
    assert QUICK_START_TEST in ci


@pytest.mark.parametrize("page", [p.name for p in _pages()])
def test_readme_links_to_every_docs_page(page: str) -> None:
    assert f"](docs/{page})" in _read(README), f"README.md does not link to docs/{page}"


def test_docs_index_links_to_every_other_page() -> None:
    index = _read(DOCS / "index.md")
    missing = [p.name for p in _pages() if p.name != "index.md" and f"]({p.name}" not in index]
    assert not missing, f"docs/index.md does not link to {missing}"


@pytest.mark.parametrize("page", ["README.md", *[f"docs/{p.name}" for p in _pages()]])
def test_relative_links_and_anchors_resolve(page: str) -> None:
    source = ROOT / page
    text = re.sub(r"```.*?```", "", _read(source), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (source.parent / file_part).resolve() if file_part else source
        if not linked.exists() or (
            anchor and linked.suffix == ".md" and anchor not in _anchors(linked)
        ):
            broken.append(target)
    assert not broken, f"{page} has broken links: {broken}"


def test_severity_matrix_in_playbooks_md_matches_the_scheme() -> None:
    scheme = standard_scheme()
    text = _read(DOCS / "playbooks.md")
    urgencies = list(scheme.urgencies)
    header = "| impact \\ urgency | " + " | ".join(f"`{u}`" for u in urgencies) + " |"
    assert header in text
    for impact in scheme.impacts:
        row = f"| `{impact}` | " + " | ".join(scheme.matrix[(impact, u)] for u in urgencies) + " |"
        assert row in text, f"matrix row for {impact} is wrong or missing: {row}"


def test_every_category_and_shipped_playbook_is_in_playbooks_md() -> None:
    text = _read(DOCS / "playbooks.md")
    missing = [f"`{key}`" for key in standard_scheme().categories if f"`{key}`" not in text]
    for _name, document in library_sources():
        key = yaml.safe_load(document)["key"]
        if f"| `{key}` |" not in text:
            missing.append(key)
    assert not missing, f"docs/playbooks.md misses {missing}"


def test_lifecycle_table_in_incidents_md_matches_the_code() -> None:
    text = _read(DOCS / "incidents.md")
    for status, targets in TRANSITIONS.items():
        moves = ", ".join(f"`{t.value}`" for t in sorted(targets)) or "—"
        row = f"| `{status.value}` | {moves} |"
        assert row in text, f"lifecycle row wrong or missing in docs/incidents.md: {row}"


@pytest.mark.parametrize(("name", "description"), sorted(METRIC_DESCRIPTIONS.items()))
def test_every_metric_is_in_incidents_md(name: str, description: str) -> None:
    assert f"| `{name}` | {description} |" in _read(DOCS / "incidents.md")
