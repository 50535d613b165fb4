"""RFC 6962 / RFC 9162 Merkle tree hashing, compact frontiers, and proofs, free of I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# A node reader returns the hash of the complete subtree at (level, index): the perfect subtree
# over leaves [index * 2**level, (index + 1) * 2**level); level 0 holds the leaf hashes. A store
# that keeps every such node (as Frontier.append reports them) answers any proof at any past
# size in O(log n) reads, so a log never has to keep hashes of incomplete subtrees.
NodeReader: TypeAlias = Callable[[int, int], bytes]


@dataclass(frozen=True, slots=True)
class Node:
    """A complete subtree hash and its position."""

    level: int
    index: int
    hash: bytes


_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 hash of a leaf entry."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (RFC 6962 MTH) of a sequence of leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Pairing level by level and carrying an odd last node up unchanged gives the same
    # tree as MTH's split at the largest power of two below n, without recursion.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class Frontier:
    """The right-edge perfect subtree hashes of a growing tree: O(log n) memory."""

    def __init__(self) -> None:
        """Start an empty tree."""
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_state(cls, size: int, hashes: Sequence[bytes]) -> Frontier:
        """Restore a frontier saved as ``size`` and ``hashes``."""
        if size < 0:
            raise ValueError(f"tree size must not be negative, got {size}")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} frontier hashes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"frontier hashes must be {HASH_SIZE} bytes")
        frontier = cls()
        frontier._size = size
        frontier._hashes = list(hashes)
        return frontier

    @property
    def size(self) -> int:
        """Return the number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Return the perfect subtree hashes, largest (leftmost) first."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[Node]:
        """Append a leaf hash; return the complete subtree nodes it completes, leaf first."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
        index = self._size
        created = [Node(0, index, leaf)]
        current = leaf
        level = 0
        # Each trailing one bit of the old size is a perfect subtree the new leaf completes.
        while index & 1:
            current = node_hash(self._hashes.pop(), current)
            level += 1
            index >>= 1
            created.append(Node(level, index, current))
        self._hashes.append(current)
        self._size += 1
        return created

    def push(self, leaf: bytes) -> None:
        """Append a leaf hash without reporting nodes: the fast path for checking a log."""
        hashes, index, current = self._hashes, self._size, leaf
        while index & 1:
            current = _sha256(b"\x01" + hashes.pop() + current).digest()
            index >>= 1
        hashes.append(current)
        self._size += 1

    def root(self) -> bytes:
        """Return the tree hash at the current size."""
        if not self._hashes:
            return EMPTY_ROOT
        result = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            result = node_hash(h, result)
        return result


def _largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_hash(start: int, end: int, node: NodeReader) -> bytes:
    """Return the hash of leaves ``[start, end)``, a complete or right-edge subtree."""
    # Proofs need right-edge subtrees [start, size) too, which are incomplete. MTH splits such a
    # range at the largest power of two below its length: the left part is complete and the
    # right part splits again. So its hash is the right fold node_hash(p1, node_hash(p2, ...))
    # of the complete subtrees given by the binary digits of end - start, largest first. Every
    # split point is a multiple of a power of two at least as long as the range after it, so
    # each of those subtrees starts on its own boundary and is a stored node. That costs
    # popcount(end - start) node reads, at most log2(n) + 1; a complete range is one read.
    parts: list[bytes] = []
    while start < end:
        level = (end - start).bit_length() - 1
        parts.append(node(level, start >> level))
        start += 1 << level
    result = parts.pop()
    while parts:
        result = node_hash(parts.pop(), result)
    return result


def root_at(size: int, node: NodeReader) -> bytes:
    """Return the tree hash at ``size`` from complete subtree nodes: popcount(size) reads."""
    if size < 0:
        raise ValueError(f"tree size must not be negative, got {size}")
    return _range_hash(0, size, node) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, node: NodeReader) -> list[bytes]:
    """Return the RFC 9162 2.1.3.1 inclusion proof of leaf ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + _largest_power_of_two_below(end - start)
        if index < mid:
            proof.append(_range_hash(mid, end, node))
            end = mid
        else:
            proof.append(_range_hash(start, mid, node))
            start = mid
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, node: NodeReader) -> list[bytes]:
    """Return the RFC 9162 2.1.4.1 consistency proof from ``old_size`` to ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end = 0, new_size
    # RFC 9162's SUBPROOF flag b: while only left halves have been taken, the old subtree still
    # ends at the old tree's root, which the verifier has, so it is left out of the proof.
    subtree_is_old_root = True
    while old_size != end:
        mid = start + _largest_power_of_two_below(end - start)
        if old_size <= mid:
            proof.append(_range_hash(mid, end, node))
            end = mid
        else:
            proof.append(_range_hash(start, mid, node))
            start = mid
            subtree_is_old_root = False
    if not subtree_is_old_root:
        proof.append(_range_hash(start, end, node))
    proof.reverse()
    return proof


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """Return the root an inclusion proof implies (RFC 9162 2.1.3.2), or None if malformed."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        return None
    fn, sn = index, size - 1
    result = leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(p, result)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, p)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """Return whether ``proof`` puts leaf hash ``leaf`` at ``index`` under ``expected_root``."""
    return root_from_inclusion(leaf, index, size, proof) == expected_root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Return whether ``proof`` shows the tree ``old_root`` is a prefix of ``new_root``."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == 0 and old_root != EMPTY_ROOT:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    # RFC 9162 2.1.4.2: a power-of-two old tree is itself a node on the new tree's path.
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
