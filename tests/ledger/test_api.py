"""The log over HTTP: the public key, checkpoints, proofs and bundles."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coherence.ledger import bundle, merkle, note


def checkpointed(client: TestClient) -> str:
    """Open an incident, let the worker sign, and return the verifier key."""
    opened = client.post(
        "/api/v1/incidents", json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
    )
    assert opened.status_code == 201
    client.app.state.workers.run_once()  # type: ignore[attr-defined]
    response = client.get("/api/v1/ledger/key", headers={"Authorization": ""})
    assert response.status_code == 200
    return response.text.strip()


def hashes(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def test_the_checkpoint_is_signed_by_the_published_key(client: TestClient) -> None:
    key = checkpointed(client)
    text = client.get("/api/v1/ledger/checkpoint").text
    checkpoint = note.parse_checkpoint(note.open_note(text, [key]))
    assert checkpoint.size > 0
    del client.headers["Authorization"]
    assert client.get("/api/v1/ledger/checkpoint").status_code == 401


def test_proofs_verify_against_the_checkpoint(client: TestClient) -> None:
    key = checkpointed(client)
    checkpoint = note.parse_checkpoint(
        note.open_note(client.get("/api/v1/ledger/checkpoint").text, [key])
    )
    for seq in (0, checkpoint.size // 2, checkpoint.size - 1):
        proof: dict[str, Any] = client.get(
            "/api/v1/ledger/proofs/inclusion", params={"seq": seq}
        ).json()
        assert base64.b64decode(proof["root"]) == checkpoint.root
        assert merkle.verify_inclusion(
            base64.b64decode(proof["leaf"]),
            seq,
            checkpoint.size,
            hashes(proof["proof"]),
            checkpoint.root,
        )
    old = checkpoint.size // 3
    consistency = client.get(
        "/api/v1/ledger/proofs/consistency", params={"from": old, "to": checkpoint.size}
    ).json()
    assert merkle.verify_consistency(
        old,
        checkpoint.size,
        base64.b64decode(consistency["from_root"]),
        checkpoint.root,
        hashes(consistency["proof"]),
    )


def test_the_exported_bundle_verifies(client: TestClient) -> None:
    key = checkpointed(client)
    response = client.get("/api/v1/ledger/bundle")
    assert response.status_code == 200
    verdict = bundle.verify(response.content, key)
    assert verdict.ok, verdict.problem


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/ledger/proofs/inclusion", {"seq": 10_000}, "seq"),
        ("/api/v1/ledger/proofs/inclusion", {"seq": 0, "size": 10_000}, "size"),
        ("/api/v1/ledger/proofs/inclusion", {"seq": -1}, "seq"),
        ("/api/v1/ledger/proofs/consistency", {"from": 5, "to": 2}, "from"),
        ("/api/v1/ledger/proofs/consistency", {"from": 0, "to": 10_000}, "size"),
        ("/api/v1/ledger/bundle", {"first": 10_000}, "first"),
    ],
)
def test_impossible_questions_are_refused_by_field(
    client: TestClient, path: str, params: dict[str, int], field: str
) -> None:
    checkpointed(client)
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body.get("field") == field or field in str(body.get("problems"))


def test_before_any_checkpoint_there_is_nothing_to_export(client: TestClient) -> None:
    response = client.get("/api/v1/ledger/checkpoint")
    assert response.status_code == 404
    assert response.json()["field"] == "checkpoint"
