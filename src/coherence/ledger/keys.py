"""The log's signing key: made once, kept owner-only, and its public half published."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from coherence.errors import ValidationFailed
from coherence.ledger import note

KEY_FILE_NAME = "ledger-signer.key"


def default_origin() -> str:
    """A log name unique to this installation, used when none is configured."""
    return f"coherence-ledger-{secrets.token_hex(4)}"


def ensure_signer(path: Path, *, origin: str = "") -> str:
    """Return the signer key at ``path``, creating it (mode 0600) if there is none yet."""
    if path.exists():
        return load_signer(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    signer, _verifier = note.generate_signer(origin or default_origin())
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_signer(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(signer + "\n")
    return signer


def load_signer(path: Path) -> str:
    """Read the signer key, refusing a file others can read."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            f"cannot read the ledger key {path}: {exc}", field="ledger_key_file"
        ) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationFailed(
            f"the ledger key {path} can be read by others; run `chmod 600 {path}`",
            field="ledger_key_file",
        )
    try:
        note.verifier_for(text)
    except note.NoteError as exc:
        raise ValidationFailed(
            f"{path} is not a ledger key: {exc}", field="ledger_key_file"
        ) from None
    return text
