"""`coherence nearmiss`, `coherence lessons` and `coherence readiness-summary` at a terminal."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from coherence.ledger import note
from tests.test_cli import Run, run  # noqa: F401 - the CLI fixture

PLAYBOOK = "dilution-refrigerator-warm-up"


def test_a_near_miss_from_report_to_lesson(run: Run, tmp_path: Path) -> None:  # noqa: F811
    run("init", "--sample")
    made = run(
        "nearmiss", "report", "Dewar nearly tipped", "--category", "cryogenic",
        "--asset", "fridge-1", "--anonymous", "--as", "priya-raman", "--json",
    )  # fmt: skip
    read = json.loads(made.stdout)
    assert (read["reference"], read["reported_by"]) == ("NM-00001", None)
    ledger = json.loads(run("ledger", "list", "--limit", "10000", "--json").stdout)
    reported = next(e for e in ledger if e["type"] == "near_miss:reported")
    assert reported["actor"] == "anonymous"
    assert "priya-raman" not in json.dumps([e for e in ledger if e["seq"] >= reported["seq"]])
    refused = run("nearmiss", "report", "x", "--category", "weather", code=1)
    assert "unknown category 'weather'" in refused.output
    run(
        "nearmiss", "add-finding", "NM-00001", "--title", "No strap on the dewar",
        "--what", "Helen Marsh saw it", "--owner", "tomasz-kowal", "--as", "priya-raman",
    )  # fmt: skip
    shown = json.loads(run("playbook", "show", PLAYBOOK, "--json").stdout)
    document = copy.deepcopy(shown["document"])
    document["steps"][0]["title"] = "Strap every dewar before moving it"
    path = tmp_path / "revised.yaml"
    path.write_text(yaml.safe_dump(document))
    run(
        "nearmiss", "propose", "NM-00001", "1", str(path), "--rationale", "Strap dewars",
        "--as", "priya-raman",
    )  # fmt: skip
    run("nearmiss", "submit", "NM-00001", "1", "--as", "priya-raman")
    own = run("nearmiss", "decide", "NM-00001", "1", "--approve", "--as", "priya-raman", code=1)
    assert "other than its proposer" in own.output
    approved = run("nearmiss", "decide", "NM-00001", "1", "--approve", "--as", "amara-osei")
    assert "published as v2" in approved.output
    lesson = run(
        "lessons", "publish", "NM-00001/F1", "--lesson", "Strap dewars", "--as", "amara-osei"
    )
    assert "published LL-00001" in lesson.output
    listed = json.loads(run("lessons", "list", "--playbook", PLAYBOOK, "--json").stdout)
    assert [x["reference"] for x in listed] == ["LL-00001"]
    assert "Helen" not in listed[0]["summary"]
    assert "no lessons match" in run("lessons", "list", "--category", "vacuum").output
    run("nearmiss", "close", "NM-00001", "--note", "Playbook v2 and a strap rack")
    assert "[closed]" in run("nearmiss", "show", "NM-00001").output
    listed_nm = run("nearmiss", "list", "--status", "closed")
    assert "NM-00001" in listed_nm.output


def test_lessons_and_summaries_travel_signed(run: Run, tmp_path: Path) -> None:  # noqa: F811
    run("init", "--sample")
    run(
        "nearmiss", "report", "Compressor hose chafing", "--category", "cryogenic",
        "--asset", "compressor-1",
    )  # fmt: skip
    run(
        "nearmiss", "add-finding", "NM-00001", "--title", "Hose chafes on the frame",
        "--what", "Found on rounds", "--owner", "tomasz-kowal",
    )  # fmt: skip
    run("lessons", "publish", "NM-00001/F1", "--lesson", "Check hose clearance on rounds")
    out = tmp_path / "lessons.json"
    exported = run("lessons", "export", "--for", "polar-cryogenics", "-o", str(out))
    assert "1 lessons (0 redacted) for polar-cryogenics" in exported.output
    data = json.loads(out.read_text())
    verifier = run("ledger", "key").stdout.strip()
    assert note.open_note(data["signature"], [verifier]).startswith("coherence-lessons-package/1")
    key_file = tmp_path / "key.txt"
    key_file.write_text(verifier)
    imported = run("lessons", "import", str(out), "--key", str(key_file))
    assert "imported 1 lessons from northbridge (0 already held)" in imported.output
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert "not a lessons package" in run(
        "lessons", "import", str(bad), "--key", verifier, code=1
    ).output  # fmt: skip
    summary = json.loads(
        run("readiness-summary", "show", "--for", "polar-cryogenics", "--json").stdout
    )
    assert summary["risks"]["detail_withheld"] is True
    assert "open risks" in run("readiness-summary", "show").output
    written = tmp_path / "summary.json"
    run("readiness-summary", "export", "--for", "polar-cryogenics", "-o", str(written))
    assert json.loads(written.read_text())["summary"]["recipient"]["organisation"] == (
        "polar-cryogenics"
    )
    nobody = run("readiness-summary", "export", "--for", "nqc-ion-group", code=1)
    assert "no agreement in force" in nobody.output
