"""C2SP signed notes with Ed25519 keys, and the C2SP tlog-checkpoint note body."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
MAX_SIGNATURES = 100

_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class NoteError(ValueError):
    """A signed note, note key or checkpoint is malformed or does not verify."""


def _check_name(name: str) -> None:
    """Raise NoteError unless ``name`` is a valid key name."""
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _check_text(text: str, what: str) -> None:
    """Raise NoteError if ``text`` cannot appear in a note."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"malformed {what}: not valid UTF-8") from None
    if any(c < " " and c != "\n" for c in text):
        raise NoteError(f"malformed {what}: control character other than newline")


def _b64decode(text: str, what: str) -> bytes:
    """Decode standard padded base64, raising NoteError on anything else."""
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        # Not quoting the text: it may be a private key.
        raise NoteError(f"malformed {what}: bad base64") from None


def _key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte C2SP key ID of an Ed25519 public key under ``name``."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def _parse_key(text: str, what: str) -> tuple[str, bytes, bytes]:
    """Split ``<name>+<hex key id>+<base64 key>`` into name, key id and 32 key bytes."""
    # The base64 alphabet has '+' but names cannot, so only the first two are separators.
    parts = text.split("+", 2)
    if len(parts) != 3 or not _KEY_ID.fullmatch(parts[1]):
        raise NoteError(f"malformed {what}")
    name, key_id, encoded = parts
    _check_name(name)
    key = _b64decode(encoded, what)
    if key[:1] != ED25519:
        raise NoteError(f"{what} {name}+{key_id} is not an Ed25519 key")
    if len(key) != 1 + 32:
        raise NoteError(f"{what} {name}+{key_id} has the wrong length")
    return name, bytes.fromhex(key_id), key[1:]


def _verifier_key(name: str, public_key: bytes) -> str:
    """Return the verifier key text for ``public_key`` under ``name``."""
    encoded = base64.b64encode(ED25519 + public_key).decode()
    return f"{name}+{_key_id(name, public_key).hex()}+{encoded}"


def generate_signer(name: str) -> tuple[str, str]:
    """Return a new Ed25519 ``(signer key, verifier key)`` pair for ``name``."""
    _check_name(name)
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    seed = base64.b64encode(ED25519 + private.private_bytes_raw()).decode()
    return f"PRIVATE+KEY+{name}+{_key_id(name, public).hex()}+{seed}", _verifier_key(name, public)


def verifier_for(signer_key: str) -> str:
    """Return the verifier key that checks notes signed with ``signer_key``."""
    if not signer_key.startswith("PRIVATE+KEY+"):
        raise NoteError("malformed signer key")
    name, key_id, seed = _parse_key(signer_key.removeprefix("PRIVATE+KEY+"), "signer key")
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    if _key_id(name, public) != key_id:
        raise NoteError(f"signer key {name}+{key_id.hex()} has the wrong key ID")
    return _verifier_key(name, public)


def sign_note(text: str, signer_key: str) -> str:
    """Return ``text`` as a note signed with ``signer_key``."""
    if not text.endswith("\n"):
        raise NoteError("malformed note text: it must end with a newline")
    _check_text(text, "note text")
    if not signer_key.startswith("PRIVATE+KEY+"):
        raise NoteError("malformed signer key")
    name, key_id, seed = _parse_key(signer_key.removeprefix("PRIVATE+KEY+"), "signer key")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    if _key_id(name, private.public_key().public_bytes_raw()) != key_id:
        raise NoteError(f"signer key {name}+{key_id.hex()} has the wrong key ID")
    signature = base64.b64encode(key_id + private.sign(text.encode())).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {signature}\n"


def open_note(note: str, verifier_keys: Sequence[str]) -> str:
    """Return the text of ``note`` once a signature by one of ``verifier_keys`` verifies."""
    known: dict[tuple[str, bytes], bytes] = {}
    for key_text in verifier_keys:
        name, key_id, public = _parse_key(key_text, "verifier key")
        if _key_id(name, public) != key_id:
            raise NoteError(f"verifier key {name}+{key_id.hex()} has the wrong key ID")
        if known.setdefault((name, key_id), public) != public:
            raise NoteError(f"two verifier keys are named {name}+{key_id.hex()}")

    _check_text(note, "note")
    # The text may hold blank lines itself; the signatures follow the last one.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, signatures = note[: split + 1], note[split + 2 :]
    if not signatures.endswith("\n"):
        raise NoteError("malformed note: it must end with a signature line and a newline")
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")

    verified = False
    unknown: list[str] = []
    for line in lines:
        name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        if not line.startswith(SIGNATURE_PREFIX) or not encoded:
            raise NoteError(f"malformed note: bad signature line {line!r}")
        _check_name(name)
        signature = _b64decode(encoded, f"note: signature by {name}")
        if len(signature) < 5:
            raise NoteError(f"malformed note: signature by {name} is too short")
        key_id, signature = signature[:4], signature[4:]
        signer = known.get((name, key_id))
        # C2SP: signatures by unknown keys are ignored, so keys can rotate and witnesses cosign.
        if signer is None:
            unknown.append(f"{name}+{key_id.hex()}")
            continue
        try:
            Ed25519PublicKey.from_public_bytes(signer).verify(signature, text.encode())
        except InvalidSignature:
            raise NoteError(f"invalid signature for key {name}+{key_id.hex()}") from None
        verified = True
    if not verified:
        signers = ", ".join(unknown) or "nobody"
        raise NoteError(f"note has no signature by a known key; signed by {signers}")
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A transparency log's signed tree head body: origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Reject values that have no checkpoint text."""
        if not self.origin:
            raise NoteError("malformed checkpoint: empty origin")
        if not 0 <= self.size < 2**64:
            raise NoteError(f"malformed checkpoint: tree size {self.size} is not a uint64")
        if len(self.root) != 32:
            raise NoteError("malformed checkpoint: root hash is not 32 bytes")
        for line in (self.origin, *self.extensions):
            if not line or "\n" in line:
                raise NoteError(f"malformed checkpoint: bad line {line!r}")
            _check_text(line, "checkpoint")

    def to_text(self) -> str:
        """Return the checkpoint note text."""
        root = base64.b64encode(self.root).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly, raising NoteError on any deviation."""
    if not text.endswith("\n"):
        raise NoteError("malformed checkpoint: it must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("malformed checkpoint: fewer than three lines")
    origin, size, root, *extensions = lines
    if not _TREE_SIZE.fullmatch(size):
        raise NoteError(f"malformed checkpoint: tree size {size!r}")
    root_hash = _b64decode(root, "checkpoint: root hash")
    # Canonical base64 only, so one checkpoint has exactly one text and one signature target.
    if base64.b64encode(root_hash).decode() != root:
        raise NoteError(f"malformed checkpoint: non-canonical root hash {root!r}")
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))
