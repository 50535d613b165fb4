"""`coherence recovery` from the terminal: the plan says where each part comes from."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.helpers import cli_runner


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_plan_names_each_parts_source(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = cli_runner(engine, tmp_path / "data", monkeypatch)

    def run(*args: str, code: int = 0) -> str:
        return invoke(*args, code=code).output

    run("init", "--sample")
    run("incident", "open", "--asset", "compressor-1", "--playbook", "pulse-tube-compressor-fault")
    both = ["--part", "compressor-1=adsorber-cartridge", "--part", "fridge-1=still-heater"]
    shown = run("recovery", "plan", "INC-00001", *both, "--as", "amara-osei")
    assert "compressor-1: spare adsorber-cartridge on site at sc-lab" in shown
    assert "fridge-1: vendor polar-cryogenics: 120 h lead time" in shown
    assert "--part takes ASSET=PART" in run(
        "recovery", "plan", "INC-00001", "--part", "fridge-1", code=1
    )
