"""Rate limits over HTTP: sign-in per address and per person key, intake per API token."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import passwords
from coherence.access.throttle import RateLimits
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.settings import Settings
from tests.helpers import counts

PASSWORD = "correct horse battery staple"
SAMPLE = {
    "site": "sc-lab",
    "asset": "fridge-1",
    "metric": "mxc_temperature_k",
    "value": 0.012,
    "unit": "K",
    "timestamp": 1_767_607_200,
}
pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


class FakeTime:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limit(client: TestClient, settings: Settings) -> Callable[..., FakeTime]:
    """Return ``limit(**settings)``: give the app those limits on a clock the test moves."""

    def install(**changes: Any) -> FakeTime:
        time = FakeTime()
        limited = settings.model_copy(update=changes)
        client.app.state.rate_limits = RateLimits(limited, now=time)  # type: ignore[attr-defined]
        return time

    return install


@pytest.fixture
def anonymous(client: TestClient) -> TestClient:
    """A browser with no Authorization header."""
    del client.headers["Authorization"]
    return client


@pytest.fixture
def with_password(factory: sessionmaker[Session], clock: ManualClock, client: TestClient) -> None:
    """Give ``amara-osei`` and ``jonas-veldhuis`` the dashboard password PASSWORD."""
    with session_scope(factory) as opened:
        for person in ("amara-osei", "jonas-veldhuis"):
            passwords.set_password(
                opened, clock=clock, person_key=person, password=PASSWORD, actor="test"
            )


def sign_in(browser: TestClient, person: str, password: str, **headers: str) -> Any:
    return browser.post(
        "/login",
        data={"person": person, "password": password},
        headers=headers,
        follow_redirects=False,
    )


def assert_limited(response: Any, limit: str, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(retry_after)
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["details"] == {"limit": limit, "retry_after_seconds": retry_after}
    assert f"COHERENCE_{limit.upper()}" in body["message"]


def test_sign_in_attempts_from_one_address_are_limited(
    anonymous: TestClient, limit: Callable[..., FakeTime]
) -> None:
    time = limit(login_attempts_per_minute=3)
    for _ in range(3):
        assert anonymous.post("/login", data={"token": "coh_wrong"}).status_code == 401
    assert_limited(
        anonymous.post("/login", data={"token": "coh_wrong"}), "login_attempts_per_minute", 20
    )
    assert_limited(
        anonymous.get("/login", params={"token": "coh_wrong"}), "login_attempts_per_minute", 20
    )
    time.now += 20
    assert anonymous.post("/login", data={"token": "coh_wrong"}).status_code == 401


def test_a_browser_over_the_limit_sees_the_form_with_the_reason(
    anonymous: TestClient, limit: Callable[..., FakeTime]
) -> None:
    limit(login_attempts_per_minute=1)
    anonymous.post("/login", data={"token": "coh_wrong"})
    page = sign_in(anonymous, "amara-osei", "guess", accept="text/html")
    assert page.status_code == 429
    assert page.headers["retry-after"] == "60"
    assert "login_attempts_per_minute" in page.text
    assert 'value="amara-osei"' in page.text


@pytest.mark.usefixtures("with_password")
def test_failed_passwords_pause_password_sign_in_for_that_key_only(
    anonymous: TestClient,
    limit: Callable[..., FakeTime],
    factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = limit(login_failures_per_hour=3)
    caplog.set_level(logging.WARNING, logger="coherence.access.throttle")
    for _ in range(3):
        assert sign_in(anonymous, "amara-osei", "wrong password 1").status_code == 401
    before = counts(factory)
    # Even the right password is not checked while the key is paused.
    assert_limited(sign_in(anonymous, "Amara-Osei ", PASSWORD), "login_failures_per_hour", 1200)
    assert counts(factory) == before
    assert sign_in(anonymous, "jonas-veldhuis", PASSWORD).status_code == 303
    time.now += 1200
    assert sign_in(anonymous, "amara-osei", PASSWORD).status_code == 303
    failures = [r.getMessage() for r in caplog.records if "failed password sign-in" in r.message]
    assert failures == ["failed password sign-in for 'amara-osei' from testclient"] * 3


@pytest.mark.usefixtures("with_password")
def test_an_unknown_key_is_limited_like_a_known_one(
    anonymous: TestClient, limit: Callable[..., FakeTime]
) -> None:
    limit(login_failures_per_hour=1)
    assert sign_in(anonymous, "no-such-person", "wrong password 1").status_code == 401
    assert_limited(
        sign_in(anonymous, "no-such-person", "wrong password 1"), "login_failures_per_hour", 3600
    )


def test_intake_is_limited_per_token(
    client: TestClient,
    limit: Callable[..., FakeTime],
    as_person: Callable[[str], dict[str, str]],
) -> None:
    time = limit(intake_requests_per_second=1)
    for _ in range(2):  # a burst of twice the rate
        assert client.post("/api/v1/telemetry", json=[SAMPLE]).status_code == 200
    for path, body in [
        ("/api/v1/telemetry", [SAMPLE]),
        ("/api/v1/signals", {}),
        ("/api/v1/alerts/alertmanager", {}),
    ]:
        assert_limited(client.post(path, json=body), "intake_requests_per_second", 1)
    other = as_person("priya-raman")
    assert client.post("/api/v1/telemetry", json=[SAMPLE], headers=other).status_code == 200
    time.now += 1
    assert client.post("/api/v1/telemetry", json=[SAMPLE]).status_code == 200


def test_the_default_limits_leave_a_busy_sender_alone(client: TestClient) -> None:
    statuses = {
        client.post("/api/v1/telemetry", json=[SAMPLE] * 100).status_code for _ in range(150)
    }
    assert statuses == {200}


def test_a_limit_of_zero_turns_it_off(
    anonymous: TestClient, limit: Callable[..., FakeTime]
) -> None:
    limit(login_attempts_per_minute=0, login_failures_per_hour=0)
    for _ in range(35):
        assert sign_in(anonymous, "amara-osei", "wrong password 1").status_code == 401


def test_intake_documents_its_429(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/telemetry", "/api/v1/signals", "/api/v1/alerts/alertmanager"):
        answer = paths[path]["post"]["responses"]["429"]
        assert "Retry-After" in answer["headers"]
