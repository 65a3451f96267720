"""The archive store for capture files: content-addressed by SHA-256, all or nothing per capture.

Files go into the same store as the archived copies of sources
(``evidence.services.archive_path``). A ``StagedFiles`` block remembers the
files it added; when the block fails, they are removed again, so a failed
capture leaves no file behind (files another capture already held stay).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import TracebackType

from django.conf import settings

from receipts.evidence.services import archive_path
from receipts.private_files import open_private, private_dir


class StagedFiles:
    """Puts files into the archive store and takes back its own if the block fails."""

    def __init__(self) -> None:
        self.added: list[Path] = []

    def __enter__(self) -> StagedFiles:
        return self

    def put(self, data: bytes, media_type: str) -> dict[str, object]:
        """Store ``data`` under its SHA-256; the manifest entry describing it."""
        sha = hashlib.sha256(data).hexdigest()
        final = archive_path(sha)
        if not final.exists():
            private_dir(final.parent)
            tmp = final.parent / f".incoming-capture-{os.getpid()}-{sha[:16]}"
            try:
                with open_private(tmp, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                tmp.replace(final)
            finally:
                tmp.unlink(missing_ok=True)
            self.added.append(final)
        return {"sha256": sha, "media_type": media_type, "size": len(data)}

    def discard(self) -> None:
        for path in self.added:
            path.unlink(missing_ok=True)
        self.added.clear()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.discard()


def read_file(sha256: str) -> bytes:
    return archive_path(sha256).read_bytes()


def store_root() -> Path:
    return Path(settings.ARCHIVE_DIR)
