"""Where evidence content lives: addressed by its SHA-256, behind a small interface."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from coherence.errors import NotFound, ValidationFailed
from coherence.evidence.domain import SHA256_HEX

CHUNK = 1 << 20


class ContentStore(Protocol):
    """Stores bytes under their SHA-256; object storage can implement the same."""

    def put(self, stream: BinaryIO, *, max_bytes: int) -> tuple[str, int]:
        """Store the stream's bytes; return (sha256 hex, size)."""
        ...

    def open(self, digest: str) -> BinaryIO:
        """Open stored content for reading."""
        ...

    def exists(self, digest: str) -> bool:
        """Whether content with this digest is stored."""
        ...

    def delete(self, digest: str) -> None:
        """Remove stored content (its record stays)."""
        ...


class LocalStore:
    """Content on local disk as ``<root>/<ab>/<cd>/<sha256>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, stream: BinaryIO, *, max_bytes: int) -> tuple[str, int]:
        """Hash while copying to a temporary file, then move it under its digest."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        # Not a context manager: the file must outlive the block when it is moved into place.
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=self.root, prefix=".incoming-", delete=False
        )
        try:
            with handle:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValidationFailed(
                            f"evidence is larger than the limit of {max_bytes:,} bytes",
                            field="content",
                        )
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            hexdigest = digest.hexdigest()
            target = self._path(hexdigest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(handle.name, target)
            target.chmod(0o400)
            return hexdigest, size
        finally:
            if os.path.exists(handle.name):
                os.unlink(handle.name)

    def open(self, digest: str) -> BinaryIO:
        """Open stored content for reading."""
        path = self._path(digest)
        if not path.is_file():
            raise NotFound(f"no stored content {digest}", field="sha256")
        return path.open("rb")

    def exists(self, digest: str) -> bool:
        """Whether content with this digest is stored."""
        return self._path(digest).is_file()

    def delete(self, digest: str) -> None:
        """Remove stored content if present."""
        path = self._path(digest)
        if path.is_file():
            path.chmod(0o600)
            path.unlink()

    def _path(self, digest: str) -> Path:
        # Only a well-formed digest ever becomes a path, so nothing can climb out of root.
        if not SHA256_HEX.fullmatch(digest):
            raise ValidationFailed("not a SHA-256 hex digest", field="sha256")
        return self.root / digest[:2] / digest[2:4] / digest


def rehash(store: ContentStore, digest: str) -> str | None:
    """Return the SHA-256 of what is stored under ``digest`` now, or None if it is gone."""
    if not store.exists(digest):
        return None
    value = hashlib.sha256()
    with store.open(digest) as handle:
        while chunk := handle.read(CHUNK):
            value.update(chunk)
    return value.hexdigest()
