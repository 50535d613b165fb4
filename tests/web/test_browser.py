"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, on a running server.

The server is the demo a new user starts (``coherence init --sample``, then ``coherence serve
--simulate --fault ...``). Screenshots of every step go to a temporary folder named in the
output, so a failure can be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The compressor trip is the sample fault that opens an incident soonest after it strikes.
FAULT = "compressor-trip@compressor-1"
FAULT_AFTER_SECONDS = 6
INCIDENT_WITHIN_MS = 90_000

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def _missing_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium from the distribution (browser downloads are not an option)."""
    missing = _missing_browser()
    if missing:
        if IN_CI:
            pytest.fail(missing + "; under CI=true this is a failure, not a skip")
        pytest.skip(missing)
    with playwright_api.sync_playwright() as driver:
        # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _coherence(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coherence", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The quick-start demo on a free port: its base URL and the sample commander's token."""
    folder = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {
        **os.environ,
        "COHERENCE_DATA_DIR": str(folder),
        "COHERENCE_PORT": str(port),
        "COHERENCE_DATABASE_URL": "",
    }
    init = _coherence(env, "init", "--sample")
    token = re.search(r"token=(\S+)", init.stdout)
    assert token, init.stdout
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coherence",
            "serve",
            "--simulate",
            "--fault",
            FAULT,
            "--fault-after",
            str(FAULT_AFTER_SECONDS),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {(folder / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield {"base": base, "token": token.group(1), "folder": str(folder), "port": str(port)}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            pytest.fail("the server did not stop within 30 s of SIGTERM")
        log.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """A folder for this test's screenshots, kept after the run and named in its output."""
    folder = Path(tempfile.mkdtemp(prefix=f"coherence-{request.node.name[:40]}-"))
    print(f"screenshots: {folder}")
    return folder


def test_a_simulated_fault_appears_on_an_open_board_and_is_acknowledged_without_reload(
    chromium: Any, demo: dict[str, str], shots: Path
) -> None:
    page = chromium.new_page()
    page.goto(f"{demo['base']}/login?token={demo['token']}")
    page.screenshot(path=shots / "1-board-before.png", full_page=True)
    assert page.url.rstrip("/") == demo["base"]
    # Set on this document only: a reload would lose it.
    page.evaluate("window.__sameDocument = true")
    page.wait_for_selector("#live-status[data-state='live']", timeout=15_000)

    row = page.locator("table.board tbody tr").first
    row.wait_for(timeout=INCIDENT_WITHIN_MS)
    page.screenshot(path=shots / "2-incident-arrived.png", full_page=True)
    assert page.evaluate("window.__sameDocument === true"), "the board reloaded"
    assert "compressor-1" in row.inner_text()
    assert page.title().startswith("(1)"), "an unacknowledged incident shows in the title"

    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(f"{demo['base']}/incidents/*")
    page.screenshot(path=shots / "3-acknowledged.png", full_page=True)
    assert "ACKNOWLEDGED" in page.locator("#phase").inner_text().upper()
    page.goto(f"{demo['base']}/")
    assert not page.title().startswith("(")


def test_the_board_says_when_live_updates_are_lost_and_falls_back_to_refreshing(
    chromium: Any, demo: dict[str, str], shots: Path
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{demo['base']}/login?token={demo['token']}")
    page.wait_for_selector("#live-status[data-state='live']", timeout=15_000)
    # Cut the event stream: every reconnection attempt now fails.
    context.route("**/events*", lambda route: route.abort())
    page.goto(f"{demo['base']}/")
    page.wait_for_selector("#live-status[data-state='lost']", timeout=30_000)
    page.screenshot(path=shots / "stream-lost.png", full_page=True)
    assert "refreshes every 15 s" in page.locator("#live-status").inner_text()
    context.close()


def _first_incident(demo: dict[str, str]) -> str:
    """The reference of the incident the fault opened, waiting for it if need be."""
    headers = {"Authorization": f"Bearer {demo['token']}"}
    deadline = time.monotonic() + INCIDENT_WITHIN_MS / 1000
    while time.monotonic() < deadline:
        items = httpx.get(f"{demo['base']}/api/v1/incidents", headers=headers).json()["items"]
        if items:
            return str(items[-1]["reference"])
        time.sleep(1)
    pytest.fail("the simulated fault opened no incident")


def test_on_the_incident_page_countdowns_run_a_task_is_done_and_the_incident_resolved(
    chromium: Any, demo: dict[str, str], shots: Path
) -> None:
    ref = _first_incident(demo)
    page = chromium.new_page()
    page.clock.install()
    page.goto(f"{demo['base']}/login?token={demo['token']}")
    page.goto(f"{demo['base']}/incidents/{ref}")
    page.screenshot(path=shots / "0-incident.png", full_page=True)
    if page.get_by_role("button", name="Acknowledge").count():
        page.get_by_role("button", name="Acknowledge").first.click()
        page.wait_for_selector("#phase .btn-phase")
    countdown = page.locator("#tasks [data-due]").last
    before = countdown.inner_text()
    page.clock.fast_forward("24:00:00")
    page.wait_for_function(
        "el => el.textContent.startsWith('overdue by')", arg=countdown.element_handle()
    )
    assert countdown.inner_text() != before

    first_task = page.locator("#tasks tbody tr").first
    first_task.get_by_role("button", name="Done").click()
    page.wait_for_url(f"**/incidents/{ref}#task-*")
    page.screenshot(path=shots / "1-task-done.png", full_page=True)
    assert "DONE" in page.locator("#tasks tbody tr").first.inner_text().upper()

    page.get_by_role("button", name="Move to resolved").click()
    page.wait_for_selector("#phase :text('Reopen')")
    page.screenshot(path=shots / "2-resolved.png", full_page=True)
    assert "RESOLVED" in page.locator("#phase").inner_text().upper()


def _token_for(demo: dict[str, str], person: str) -> str:
    """Issue an API token for ``person`` in the demo's database, as an administrator would."""
    env = {
        **os.environ,
        "COHERENCE_DATA_DIR": demo["folder"],
        "COHERENCE_PORT": demo["port"],
        "COHERENCE_DATABASE_URL": "",
    }
    issued = _coherence(env, "token", "create", "--person", person)
    found = re.search(r"(coh_\S+)", issued.stdout)
    assert found, issued.stdout
    return found.group(1)


def test_a_partner_sees_only_what_its_agreement_allows(
    chromium: Any, demo: dict[str, str], shots: Path
) -> None:
    ref = _first_incident(demo)
    # Polar Cryogenics services the compressors under an AMBER agreement without personal data.
    polar = chromium.new_context().new_page()
    polar.goto(f"{demo['base']}/login?token={_token_for(demo, 'polar-cryo-support')}")
    polar.goto(f"{demo['base']}/?all=1")
    polar.screenshot(path=shots / "1-polar-board.png", full_page=True)
    assert ref in polar.locator("main").inner_text()
    polar.goto(f"{demo['base']}/incidents/{ref}")
    polar.screenshot(path=shots / "2-polar-incident.png", full_page=True)
    assert "[redacted: personal data]" in polar.locator("main").inner_text()
    assert polar.get_by_role("button", name="Add note").count() == 0
    # Coldhead's warranty agreement shares only GREEN: the AMBER incident is not theirs to see.
    coldhead = chromium.new_context().new_page()
    coldhead.goto(f"{demo['base']}/login?token={_token_for(demo, 'coldhead-support')}")
    coldhead.goto(f"{demo['base']}/?all=1")
    coldhead.screenshot(path=shots / "3-coldhead-board.png", full_page=True)
    assert ref not in coldhead.locator("main").inner_text()
    refused = coldhead.goto(f"{demo['base']}/incidents/{ref}")
    coldhead.screenshot(path=shots / "4-coldhead-refused.png", full_page=True)
    assert refused is not None
    assert refused.status == 403


def test_at_phone_width_nothing_scrolls_sideways_and_the_keyboard_reaches_everything(
    chromium: Any, demo: dict[str, str], shots: Path
) -> None:
    ref = _first_incident(demo)
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{demo['base']}/login?token={demo['token']}")
    for path in ("/", f"/incidents/{ref}", "/facility", "/partners", f"/incidents/{ref}/ics201"):
        page.goto(f"{demo['base']}{path}")
        name = path.strip("/").replace("/", "-") or "board"
        page.screenshot(path=shots / f"phone-{name}.png", full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 1, f"{path} is {wide}px wider than a phone"
    page.goto(f"{demo['base']}/?all=1")  # an earlier test may have resolved it
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == ref:
            break
    else:
        pytest.fail(f"Tab never reached the link to {ref}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/incidents/{ref}")
    page.screenshot(path=shots / "keyboard-incident.png", full_page=True)


def test_every_page_in_the_navigation_opens_without_an_error(
    chromium: Any, demo: dict[str, str], shots: Path
) -> None:
    ref = _first_incident(demo)
    page = chromium.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{demo['base']}/login?token={demo['token']}")
    links = page.eval_on_selector_all(".topnav a", "els => els.map(e => e.getAttribute('href'))")
    assert len(links) >= 10
    for path in [*links, f"/incidents/{ref}", f"/incidents/{ref}/ics209", "/status"]:
        response = page.goto(f"{demo['base']}{path}")
        assert response is not None
        name = path.strip("/").replace("/", "-") or "board"
        page.screenshot(path=shots / f"{name}.png", full_page=True)
        assert response.status == 200, f"{path} answered {response.status}"
        assert page.locator("main h1, main h2").count(), f"{path} has no heading"
    assert not problems, problems
