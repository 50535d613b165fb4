"""The dependency graph laid out for drawing: pure geometry, no database, no markup.

Assets are placed in columns by how deep their dependencies go (power and cooling on the left,
the processors that need them on the right) and in rows by key within a column. Edges run
from what an asset needs to the asset; a redundancy group's edges are marked so the drawing
can tell "needs this one" from "needs one of these".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coherence.recovery.planning import Node

COLUMN_WIDTH = 230
ROW_HEIGHT = 58
BOX_WIDTH = 190
BOX_HEIGHT = 40
MARGIN = 12


@dataclass(frozen=True)
class Placed:
    """An asset's box: its top-left corner and what is drawn in it."""

    key: str
    kind: str
    x: int
    y: int
    state: str
    label: str


@dataclass(frozen=True)
class Edge:
    """A line from the middle of ``needed``'s right side to ``user``'s left side."""

    needed: str
    user: str
    x1: int
    y1: int
    x2: int
    y2: int
    redundant: bool
    title: str


@dataclass(frozen=True)
class Drawing:
    """Everything a template needs to draw the graph as SVG."""

    width: int
    height: int
    boxes: tuple[Placed, ...]
    edges: tuple[Edge, ...]


def depths(graph: Mapping[str, Node]) -> dict[str, int]:
    """Return each asset's column: 0 for one that needs nothing in ``graph``, else 1 + deepest need.

    The catalog refuses cycles when it is loaded; a cycle met here anyway is cut, not looped.
    """
    found: dict[str, int] = {}
    for root in sorted(graph):
        stack: list[tuple[str, bool]] = [(root, False)]
        on_path: set[str] = set()
        while stack:
            key, expanded = stack.pop()
            if key in found:
                continue
            needs = [m for g in graph[key].groups for m in g.members if m in graph]
            if expanded:
                on_path.discard(key)
                found[key] = 1 + max((found.get(m, 0) for m in needs), default=-1)
                continue
            on_path.add(key)
            stack.append((key, True))
            stack.extend((m, False) for m in needs if m not in found and m not in on_path)
    return found


def layout(graph: Mapping[str, Node], states: Mapping[str, tuple[str, str]]) -> Drawing:
    """Place every asset of ``graph``; ``states`` maps an asset to (state, label) to show."""
    column = depths(graph)
    rows: dict[int, list[str]] = {}
    for key in sorted(graph, key=lambda k: (column[k], graph[k].kind, k)):
        rows.setdefault(column[key], []).append(key)
    where: dict[str, tuple[int, int]] = {}
    for col, keys in rows.items():
        for row, key in enumerate(keys):
            where[key] = (MARGIN + col * COLUMN_WIDTH, MARGIN + row * ROW_HEIGHT)
    boxes = tuple(
        Placed(key, graph[key].kind, x, y, *states.get(key, ("ok", "OK")))
        for key, (x, y) in where.items()
    )
    edges = []
    for key, node in graph.items():
        x2, y2 = where[key][0], where[key][1] + BOX_HEIGHT // 2
        for group in node.groups:
            redundant = group.min_required < len(group.members)
            title = (
                f"{key} needs {group.min_required} of {', '.join(group.members)}"
                if redundant
                else f"{key} needs {', '.join(group.members)}"
            )
            for member in group.members:
                if member not in where:
                    continue
                x1, y1 = where[member][0] + BOX_WIDTH, where[member][1] + BOX_HEIGHT // 2
                edges.append(Edge(member, key, x1, y1, x2, y2, redundant, title))
    width = MARGIN * 2 + (max(rows, default=0) + 1) * COLUMN_WIDTH
    height = MARGIN * 2 + max((len(k) for k in rows.values()), default=0) * ROW_HEIGHT
    return Drawing(width, height, boxes, tuple(edges))
