"""Training fixtures: the sample curriculum and records loaded at the test clock's start."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.training import loading
from tests.conftest import ManualClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CURRICULUM = EXAMPLES / "curriculum.yaml"
RECORDS = EXAMPLES / "training.yaml"


@pytest.fixture
def trained(factory: sessionmaker[Session], clock: ManualClock, facility: None) -> None:
    """The sample facility with its curriculum and training records."""
    with session_scope(factory) as session:
        loading.load_curriculum(
            session,
            clock=clock,
            data=load_yaml_file(CURRICULUM),
            actor="test",
            source="curriculum.yaml",
        )
        loading.load_records(
            session, clock=clock, data=load_yaml_file(RECORDS), actor="test", source="training.yaml"
        )
