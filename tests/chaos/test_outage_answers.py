"""What a browser, an API client and an operator at the terminal are told when the database
is cut off or has no free connection: a clear answer, never a traceback or a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from coherence.access.api import WEB_TOKEN_COOKIE
from coherence.app import create_app
from coherence.cli import app as cli_app
from coherence.db import make_engine
from coherence.settings import Settings
from tests.chaos.helpers import TcpProxy
from tests.helpers import database_url

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A cuttable path to the test PostgreSQL."""
    cuttable = TcpProxy(("127.0.0.1", 5432))
    yield cuttable
    cuttable.close()


def _proxied_url(engine: Engine, proxy: TcpProxy) -> str:
    return database_url(engine).replace(":5432/", f":{proxy.port}/", 1)


def _client(url: str, tmp_path: Path, **pool: int | float) -> tuple[TestClient, Engine]:
    proxied = make_engine(url, **pool)
    settings = Settings(data_dir=tmp_path, database_url=url)
    return TestClient(create_app(settings, engine=proxied, run_workers=False)), proxied


def test_a_dashboard_page_in_an_outage_explains_itself_and_reloads(
    engine: Engine, proxy: TcpProxy, tmp_path: Path
) -> None:
    client, proxied = _client(_proxied_url(engine, proxy), tmp_path)
    with client:
        proxy.cut()
        client.cookies.set(WEB_TOKEN_COOKIE, "coh_anything")
        page = client.get("/", headers=BROWSER)
        form = client.post("/logout", headers={**BROWSER, "Origin": "http://testserver"})
    proxied.dispose()

    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["Retry-After"] == "5"
    assert "the database is unreachable (since" in page.text
    assert '<meta http-equiv="refresh" content="5">' in page.text
    # A form that was refused must not be resent by a reload the person did not ask for.
    assert form.status_code == 503
    assert "text/html" in form.headers["content-type"]
    assert 'http-equiv="refresh"' not in form.text


def test_an_api_call_in_an_outage_stays_json(
    engine: Engine, proxy: TcpProxy, tmp_path: Path
) -> None:
    client, proxied = _client(_proxied_url(engine, proxy), tmp_path)
    with client:
        proxy.cut()
        answer = client.get(
            "/api/v1/incidents", headers={**BROWSER, "Authorization": "Bearer coh_anything"}
        )
    proxied.dispose()

    assert answer.status_code == 503
    assert answer.json()["code"] == "database_unavailable"
    assert answer.json()["field"] == "database"
    assert answer.headers["Retry-After"] == "5"
    # API callers are not told the database's address or account.
    assert str(proxy.port) not in answer.text


def test_no_free_connection_is_a_503_not_an_outage(
    engine: Engine, proxy: TcpProxy, tmp_path: Path
) -> None:
    client, proxied = _client(
        _proxied_url(engine, proxy), tmp_path, pool_size=1, max_overflow=0, pool_timeout=0.3
    )
    with client, proxied.connect():
        answer = client.get("/api/v1/incidents", headers={"Authorization": "Bearer coh_anything"})
        health = client.app.state.database_health  # type: ignore[attr-defined]
        unreachable_since = health.unreachable_since
    proxied.dispose()

    assert answer.status_code == 503
    assert answer.json()["code"] == "database_unavailable"
    assert "every database connection is busy" in answer.json()["message"]
    assert unreachable_since is None


def test_a_command_in_an_outage_prints_one_line_not_a_traceback(
    engine: Engine, proxy: TcpProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERENCE_DATABASE_URL", _proxied_url(engine, proxy))
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(tmp_path))
    proxy.cut()

    result = CliRunner().invoke(cli_app, ["incident", "list"])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "error: the database is unreachable (" in result.output
    assert "coherence doctor" in result.output
