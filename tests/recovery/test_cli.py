"""`coherence recovery` from the terminal: the plan says where each part comes from."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from coherence.cli import app
from tests.test_cli import _url


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_plan_names_each_parts_source(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERENCE_DATABASE_URL", _url(engine))
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert "Traceback" not in result.output, result.output
        assert result.exit_code == code, result.output
        return result.output

    run("init", "--sample")
    run("incident", "open", "--asset", "compressor-1", "--playbook", "pulse-tube-compressor-fault")
    both = ["--part", "compressor-1=adsorber-cartridge", "--part", "fridge-1=still-heater"]
    shown = run("recovery", "plan", "INC-00001", *both, "--as", "amara-osei")
    assert "compressor-1: spare adsorber-cartridge on site at sc-lab" in shown
    assert "fridge-1: vendor polar-cryogenics: 120 h lead time" in shown
    assert "--part takes ASSET=PART" in run(
        "recovery", "plan", "INC-00001", "--part", "fridge-1", code=1
    )
