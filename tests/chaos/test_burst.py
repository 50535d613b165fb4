"""A burst of more requests than the server has threads: every one answered, none stalled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.chaos.helpers import Deployment, free_port

# Above the 40 threads FastAPI runs synchronous steps on; 45 stalled every request for 30 s.
BURST = 80


def test_a_burst_beyond_the_thread_pool_is_served_without_errors(
    engine: Engine, factory: sessionmaker[Session], receiver: str, tmp_path: Path
) -> None:
    deployment = Deployment(engine, tmp_path, receiver)
    deployment.prepare(factory)
    token = deployment.token_for(factory, "amara-osei")
    port = free_port()
    deployment.serve(port, "--no-workers")
    url = f"http://127.0.0.1:{port}/api/v1/incidents?limit=50"

    def call(_: int) -> int:
        with httpx.Client(timeout=60) as client:
            return client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

    try:
        with ThreadPoolExecutor(BURST) as pool:
            statuses = list(pool.map(call, range(BURST)))
    finally:
        deployment.close()
    assert statuses == [200] * BURST, deployment.logs()
