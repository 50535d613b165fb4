"""The restore drill in deploy/ is run, not just described: the restored ledger verifies."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coherence.cli import app

ROOT = Path(__file__).resolve().parents[2]
DRILL = ROOT / "deploy" / "restore-drill.sh"


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run the drill once; return its work directory and what it printed."""
    work = tmp_path_factory.mktemp("drill") / "work"
    command = Path(sys.executable).parent / "coherence"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COHERENCE_")},
        "COHERENCE": str(command),
        "PATH": f"{command.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    shell = shutil.which("sh")
    assert shell is not None
    result = subprocess.run(
        [shell, str(DRILL), str(work)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return work, result.stdout


def test_the_drill_restores_a_ledger_that_verifies(drill: tuple[Path, str]) -> None:
    work, output = drill
    assert f"restore drill passed: {work}" in output
    verified = re.search(
        r"^OK: (\d+) entries from 0 and (\d+) checkpoints of .* verify", output, re.M
    )
    assert verified, output
    assert int(verified.group(1)) > 0
    assert "OK: 1 items match the hashes in the ledger" in output
    assert "0 FAIL" in output
    assert (work / "restored" / "ledger-signer.key").stat().st_mode & 0o777 == 0o600


def test_the_drills_verification_would_catch_a_tampered_restore(
    drill: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work, _output = drill
    tampered = work / "tampered"
    shutil.copytree(work / "restored", tampered)
    with sqlite3.connect(tampered / "coherence.db") as connection:
        connection.execute(
            "UPDATE ledger_entries SET actor = 'someone-else' WHERE seq = "
            "(SELECT max(seq) FROM ledger_entries WHERE entry_type = 'incident:opened')"
        )
    for name in list(os.environ):
        if name.startswith("COHERENCE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(tampered))
    runner = CliRunner()
    bundle = work / "tampered.json"
    assert runner.invoke(app, ["ledger", "export", str(bundle)]).exit_code == 0
    result = runner.invoke(
        app, ["ledger", "verify", str(bundle), "--key", str(work / "verifier-key.txt")]
    )
    assert result.exit_code == 1
    assert "FAILED (first bad entry:" in result.output
