"""The partners page: agreements, and what each partner's people see of each open incident."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .test_live import signed_in


def cell(page: str, ref: str, column: int) -> str:
    """The text of one cell of the incident's row in the what-each-sees grid."""
    row = page.split(f'<a href="/incidents/{ref}">{ref}</a>', 1)[1].split("</tr>", 1)[0]
    return row.split("<td", column + 1)[column + 1].split("</td>", 1)[0]


def test_each_partner_sees_what_the_policy_allows_it(client: TestClient, agreements: None) -> None:
    opened = client.post(
        "/api/v1/incidents",
        json={"asset": "compressor-1", "playbook": "pulse-tube-compressor-fault"},
    ).json()
    ref = opened["reference"]
    page = signed_in(client).get("/partners")
    assert page.status_code == 200
    header = page.text.split('<table class="sight-grid">', 1)[1].split("</thead>", 1)[0]
    columns = [
        c.split("<code", 1)[1].split(">", 1)[1].split("<", 1)[0]
        for c in header.split('<th scope="col">')[2:]
    ]
    polar = cell(page.text, ref, columns.index("polar-cryogenics"))
    assert "✓ Sees it" in polar
    assert "calibration, operational" in polar
    coldhead = cell(page.text, ref, columns.index("coldhead-compressors"))
    assert "✕ Does not" in coldhead
    assert "ceiling TLP:GREEN" in coldhead
    assert "nb-polar-cryo" in page.text
    assert "northbridge" not in columns  # the operator is not its own partner


def test_the_page_needs_facility_read_access(client: TestClient) -> None:
    del client.headers["Authorization"]
    assert client.get("/partners", follow_redirects=False).status_code == 303
