"""Cross-reference checks on a facility document, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coherence.catalog.domain import find_dependency_cycle
from coherence.catalog.schemas import FacilityDocument

Problems = list[dict[str, str]]
SINGULAR = {
    "organisations": "organisation",
    "sites": "site",
    "people": "person",
    "assets": "asset",
    "rotations": "rotation",
    "escalation_policies": "escalation policy",
}


def facility_problems(
    doc: FacilityDocument,
    existing: Mapping[str, set[str]],
    stored_edges: Mapping[str, Sequence[str]] | None = None,
    stored_roles: Mapping[str, Sequence[str]] | None = None,
) -> Problems:
    """List every dangling reference, duplicate key and dependency cycle in ``doc``.

    ``existing`` holds keys already stored, by kind, so a file may refer to them;
    ``stored_edges`` the stored dependencies, so a cycle through stored assets is found too;
    ``stored_roles`` the roles of stored people, so rotations are checked against them.
    """
    problems: Problems = []
    known: dict[str, set[str]] = {}
    keys_by_kind: dict[str, list[str]] = {
        "organisations": [o.key for o in doc.organisations],
        "sites": [s.key for s in doc.sites],
        "people": [p.key for p in doc.people],
        "assets": [a.key for a in doc.assets],
        "rotations": [r.key for r in doc.rotations],
        "escalation_policies": [e.key for e in doc.escalation_policies],
    }
    for kind, keys in keys_by_kind.items():
        seen: set[str] = set()
        for index, key in enumerate(keys):
            if key in seen:
                problems.append(_problem(f"{kind}[{index}].key", f"duplicate key {key!r}"))
            seen.add(key)
        known[kind] = seen | set(existing.get(kind, set()))

    def check(path: str, kind: str, key: str) -> None:
        if key not in known[kind]:
            problems.append(_problem(path, f"no {SINGULAR[kind]} with key {key!r}"))

    for i, site in enumerate(doc.sites):
        check(f"sites[{i}].organisation", "organisations", site.organisation)
        if site.escalation_policy:
            check(f"sites[{i}].escalation_policy", "escalation_policies", site.escalation_policy)
    for i, person in enumerate(doc.people):
        check(f"people[{i}].organisation", "organisations", person.organisation)
    for i, asset in enumerate(doc.assets):
        check(f"assets[{i}].site", "sites", asset.site)
        check(f"assets[{i}].owner", "organisations", asset.owner)
        for k, vendor in enumerate(asset.vendors):
            check(f"assets[{i}].vendors[{k}]", "organisations", vendor)
        for j, group in enumerate(asset.depends_on):
            for k, member in enumerate(group.assets):
                check(f"assets[{i}].depends_on[{j}].assets[{k}]", "assets", member)
            if asset.key in group.assets:
                problems.append(
                    _problem(f"assets[{i}].depends_on[{j}]", f"{asset.key} depends on itself")
                )
            if group.needs is not None and group.needs > len(group.assets):
                problems.append(
                    _problem(
                        f"assets[{i}].depends_on[{j}].needs",
                        f"needs {group.needs} but the group lists {len(group.assets)} asset(s)",
                    )
                )
    roles_of: dict[str, Sequence[str]] = {
        **(stored_roles or {}),
        **{person.key: [role.value for role in person.roles] for person in doc.people},
    }
    for i, rotation in enumerate(doc.rotations):
        check(f"rotations[{i}].site", "sites", rotation.site)
        for k, member in enumerate(rotation.members):
            check(f"rotations[{i}].members[{k}]", "people", member)
            if member in roles_of and rotation.role.value not in roles_of[member]:
                problems.append(
                    _problem(
                        f"rotations[{i}].members[{k}]",
                        f"{member} is rostered as {rotation.role.value} but that role is not "
                        "in their roles",
                    )
                )
    for i, policy in enumerate(doc.escalation_policies):
        for j, level in enumerate(policy.levels):
            for k, person_key in enumerate(level.notify_people):
                check(
                    f"escalation_policies[{i}].levels[{j}].notify_people[{k}]", "people", person_key
                )
            if not level.notify_roles and not level.notify_people:
                problems.append(
                    _problem(
                        f"escalation_policies[{i}].levels[{j}]",
                        "a level must notify at least one role or person",
                    )
                )

    edges = {
        **(stored_edges or {}),
        **{a.key: [m for g in a.depends_on for m in g.assets] for a in doc.assets},
    }
    cycle = find_dependency_cycle(edges)
    if cycle:
        problems.append(_problem("assets", f"dependency cycle: {' -> '.join(cycle)}"))
    return problems


def _problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}
