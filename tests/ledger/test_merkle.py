"""RFC 6962 / RFC 9162 Merkle trees: public test vectors, edge cases and properties."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coherence.ledger import merkle
from coherence.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    Node,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_at,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

# The vectors below are copied from transparency-dev/merkle (proof/verify_test.go and
# rfc6962/rfc6962_test.go), which carried them over from Certificate Transparency.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def _hashes(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


# (leaf index, tree size, proof); the Go file numbers leaves from 1.
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _hashes(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _hashes("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _hashes(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]
# (old size, new size, proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _hashes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _hashes(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _hashes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def reference_mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 2.1 MTH, recursively and literally."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(reference_mth(leaves[:k]), reference_mth(leaves[k:]))


def reference_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]), recursively and literally."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_mth(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_mth(leaves[:k])]


def reference_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b), recursively and literally."""
    n = len(leaves)
    if m == n:
        return [] if b else [reference_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], b), reference_mth(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), reference_mth(leaves[:k])]


class Store:
    """A per-node table of every complete subtree, as a log's database would keep it."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.frontier = Frontier()
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.reads: list[tuple[int, int]] = []
        for leaf in leaves:
            for node in self.frontier.append(leaf):
                self.nodes[node.level, node.index] = node.hash

    def node(self, level: int, index: int) -> bytes:
        self.reads.append((level, index))
        return self.nodes[level, index]


VECTOR_HASHES = [leaf_hash(data) for data in LEAVES]
VECTOR_STORE = Store(VECTOR_HASHES)


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_hashes_match_rfc6962_vectors() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(9))
def test_roots_match_vectors(size: int) -> None:
    expected = ROOTS[size - 1] if size else EMPTY_ROOT
    assert root(VECTOR_HASHES[:size]) == expected
    assert reference_mth(VECTOR_HASHES[:size]) == expected
    assert root_at(size, VECTOR_STORE.node) == expected
    frontier = Frontier()
    for leaf in VECTOR_HASHES[:size]:
        frontier.append(leaf)
    assert frontier.root() == expected


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, size, VECTOR_STORE.node) == proof
    assert root_from_inclusion(VECTOR_HASHES[index], index, size, proof) == ROOTS[size - 1]
    assert verify_inclusion(VECTOR_HASHES[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, new, VECTOR_STORE.node) == proof
    assert verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


def test_inclusion_of_leaf_1_in_size_2_is_leaf_0() -> None:
    proof = inclusion_proof(1, 2, VECTOR_STORE.node)
    assert proof == [ROOTS[0]]
    assert verify_inclusion(VECTOR_HASHES[1], 1, 2, proof, ROOTS[1])


# Node reads expected by transparency-dev/merkle proof/proof_test.go, as (level, index).
@pytest.mark.parametrize(
    ("index", "size", "reads"),
    [
        (0, 7, [(0, 1), (1, 1), (0, 6), (1, 2)]),
        (4, 7, [(0, 5), (0, 6), (2, 0)]),
        (3, 6, [(0, 2), (1, 0), (1, 2)]),
        (10, 15, [(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)]),
        (24, 31, [(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)]),
        (81, 95, [(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)]),
    ],
)
def test_inclusion_reads_only_the_needed_nodes(
    index: int, size: int, reads: list[tuple[int, int]]
) -> None:
    store = Store(_leaves(size))
    inclusion_proof(index, size, store.node)
    assert sorted(store.reads) == sorted(reads)


@pytest.mark.parametrize(
    ("old", "new", "reads"),
    [
        (1, 6, [(0, 1), (1, 1), (1, 2)]),
        (3, 7, [(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)]),
        (4, 7, [(0, 6), (1, 2)]),
        (5, 7, [(0, 4), (0, 5), (0, 6), (2, 0)]),
        (7, 8, [(0, 6), (0, 7), (1, 2), (2, 0)]),
        (10, 15, [(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)]),
        (24, 31, [(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)]),
        (81, 95, [(0, 80), (0, 81), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)]),
    ],
)
def test_consistency_reads_only_the_needed_nodes(
    old: int, new: int, reads: list[tuple[int, int]]
) -> None:
    store = Store(_leaves(new))
    consistency_proof(old, new, store.node)
    assert sorted(store.reads) == sorted(reads)


def test_impossible_arguments_raise() -> None:
    node = VECTOR_STORE.node
    for index, size in [(0, 0), (1, 1), (8, 8), (-1, 3)]:
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_proof(index, size, node)
        with pytest.raises(ValueError, match="not in a tree"):
            verify_inclusion(VECTOR_HASHES[0], index, size, [], ROOTS[0])
    for old, new in [(2, 1), (-1, 3), (9, 8)]:
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_proof(old, new, node)
        with pytest.raises(ValueError, match="no consistency proof"):
            verify_consistency(old, new, ROOTS[0], ROOTS[0], [])
    with pytest.raises(ValueError, match="negative"):
        root_at(-1, node)


def test_single_leaf_tree() -> None:
    leaf = leaf_hash(b"data")
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], leaf)
    assert not verify_inclusion(b"", 0, 1, [], b"")
    assert not verify_inclusion(leaf, 0, 1, [leaf], leaf)


def test_trivial_consistency() -> None:
    assert consistency_proof(0, 0, VECTOR_STORE.node) == []
    assert consistency_proof(0, 5, VECTOR_STORE.node) == []
    assert consistency_proof(5, 5, VECTOR_STORE.node) == []
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 8, EMPTY_ROOT, ROOTS[7], [])
    assert verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    # Consistency from an empty tree holds only with an empty proof and the empty root.
    assert not verify_consistency(0, 8, EMPTY_ROOT, ROOTS[7], [EMPTY_ROOT])
    assert not verify_consistency(0, 8, ROOTS[0], ROOTS[7], [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, ROOTS[0], [])
    assert not verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    assert not verify_consistency(3, 3, ROOTS[2], ROOTS[2], [ROOTS[2]])
    assert not verify_consistency(1, 2, ROOTS[0], ROOTS[1], [])
    assert not verify_consistency(3, 3, b"short", b"short", [])


def test_malformed_proof_hash_lengths_are_false() -> None:
    proof = INCLUSION_VECTORS[1][2]
    assert not verify_inclusion(VECTOR_HASHES[0], 0, 8, [*proof[:2], proof[2][:31]], ROOTS[7])
    assert not verify_inclusion(VECTOR_HASHES[0], 0, 8, proof, ROOTS[7] + b"\x00")
    assert root_from_inclusion(VECTOR_HASHES[0], 0, 8, [*proof, b""]) is None
    consistency = CONSISTENCY_VECTORS[2][2]
    assert not verify_consistency(6, 8, ROOTS[5], ROOTS[7], [*consistency, b""])
    assert not verify_consistency(6, 8, ROOTS[5][:16], ROOTS[7], consistency)


def test_frontier_state_round_trips_and_is_checked() -> None:
    frontier = Frontier()
    for leaf in _leaves(13):
        frontier.append(leaf)
    restored = Frontier.from_state(frontier.size, frontier.hashes)
    assert len(restored.hashes) == 3
    assert restored.root() == frontier.root() == root(_leaves(13))
    for leaf in _leaves(20)[13:]:
        restored.append(leaf)
    assert restored.root() == root(_leaves(20))
    assert Frontier.from_state(0, []).root() == EMPTY_ROOT
    with pytest.raises(ValueError, match="frontier hashes"):
        Frontier.from_state(13, frontier.hashes[:2])
    with pytest.raises(ValueError, match="32 bytes"):
        Frontier.from_state(1, [b"short"])
    with pytest.raises(ValueError, match="negative"):
        Frontier.from_state(-1, [])
    with pytest.raises(ValueError, match="32 bytes"):
        frontier.append(b"short")


def test_frontier_reports_every_complete_subtree() -> None:
    frontier = Frontier()
    assert frontier.append(VECTOR_HASHES[0]) == [Node(0, 0, VECTOR_HASHES[0])]
    frontier.append(VECTOR_HASHES[1])
    frontier.append(VECTOR_HASHES[2])
    created = frontier.append(VECTOR_HASHES[3])
    assert [(n.level, n.index) for n in created] == [(0, 3), (1, 1), (2, 0)]
    assert created[-1].hash == ROOTS[3]


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    tampered = list(proof)
    tampered[i] = bytes([tampered[i][0] ^ 8]) + tampered[i][1:]
    return tampered


def _consistency(old: int, new: int) -> list[bytes]:
    return [] if old in (0, new) else reference_subproof(old, _leaves(new), True)


SIZES = st.integers(min_value=1, max_value=300)


@settings(max_examples=150, deadline=None)
@given(size=SIZES, data=st.data())
def test_inclusion_property(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    store = Store(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    tree_root = reference_mth(leaves)
    proof = inclusion_proof(index, size, store.node)
    assert proof == reference_path(index, leaves)
    assert len(store.reads) <= 2 * size.bit_length()
    assert verify_inclusion(leaves[index], index, size, proof, tree_root)

    assert not verify_inclusion(leaf_hash(b"other"), index, size, proof, tree_root)
    assert not verify_inclusion(leaves[index], index, size, proof, SOME_HASH)
    for i in range(len(proof)):
        assert not verify_inclusion(leaves[index], index, size, _flip(proof, i), tree_root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        assert not verify_inclusion(leaves[index], other, size, proof, tree_root)
        assert not verify_inclusion(leaves[other], other, size, proof, tree_root)
    # RFC 9162 verification binds the size only through the proof's shape, as a proof element
    # may stand for a leaf or a node: leaf 0's proof in a tree of 5 verifies for 6 too. So a
    # changed size must fail when its proof has another length, as when doubled or halved.
    other_size = data.draw(st.integers(index + 1, 2 * size + 2), label="other_size")
    for wrong_size in {2 * size, size // 2, other_size} - {size}:
        if wrong_size > index and len(reference_path(index, _leaves(wrong_size))) != len(proof):
            assert not verify_inclusion(leaves[index], index, wrong_size, proof, tree_root)
    assert not verify_inclusion(leaves[index], index, size, [*proof, SOME_HASH], tree_root)
    assert not verify_inclusion(leaves[index], index, size, [SOME_HASH, *proof], tree_root)
    if proof:
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], tree_root)


@settings(max_examples=150, deadline=None)
@given(new=SIZES, data=st.data())
def test_consistency_property(new: int, data: st.DataObject) -> None:
    leaves = _leaves(new)
    store = Store(leaves)
    old = data.draw(st.integers(0, new), label="old")
    old_root, new_root = reference_mth(leaves[:old]), reference_mth(leaves)
    proof = consistency_proof(old, new, store.node)
    assert proof == _consistency(old, new)
    assert len(store.reads) <= 2 * new.bit_length()
    assert verify_consistency(old, new, old_root, new_root, proof)
    if old in (0, new):
        assert not verify_consistency(old, new, old_root, new_root, [SOME_HASH])
        return

    assert not verify_consistency(old, new, SOME_HASH, new_root, proof)
    assert not verify_consistency(old, new, old_root, SOME_HASH, proof)
    assert not verify_consistency(old, new, new_root, old_root, proof)
    assert not verify_consistency(old, new, old_root, new_root, [])
    for i in range(len(proof)):
        assert not verify_consistency(old, new, old_root, new_root, _flip(proof, i))
    assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
    assert not verify_consistency(old, new, old_root, new_root, [*proof, old_root])
    assert not verify_consistency(old, new, old_root, new_root, [proof[0], *proof])
    other_old = data.draw(st.integers(1, new).filter(lambda s: s != old), label="other_old")
    assert not verify_consistency(other_old, new, old_root, new_root, proof)
    # As for inclusion, a changed new size must fail when its proof has another length.
    other_new = data.draw(st.integers(old, 2 * new + 2), label="other_new")
    for wrong_new in {2 * new, new // 2, other_new} - {new}:
        if wrong_new >= old and len(_consistency(old, wrong_new)) != len(proof):
            assert not verify_consistency(old, wrong_new, old_root, new_root, proof)


@given(st.integers(min_value=0, max_value=300))
def test_push_is_append_without_the_nodes(size: int) -> None:
    leaves = [merkle.leaf_hash(str(n).encode()) for n in range(size)]
    pushed, appended = merkle.Frontier(), merkle.Frontier()
    for leaf in leaves:
        pushed.push(leaf)
        appended.append(leaf)
    assert (pushed.size, pushed.hashes, pushed.root()) == (size, appended.hashes, appended.root())
