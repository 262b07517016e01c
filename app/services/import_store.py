"""Uploaded import files kept between the preview and the confirmation, on disk under the
data directory and named by the SHA-256 of their content: any app process can pick the file
up again (no process memory), the same upload is stored once, and a name that is not a
digest can never reach outside the directory. Old files are removed on every save."""

import hashlib
import os
import re
import time
from pathlib import Path

DIGEST = re.compile(r"^[0-9a-f]{64}$")
SUFFIX = ".upload"


def store_dir(data_dir: Path) -> Path:
    return data_dir / "imports"


def save(data_dir: Path, data: bytes, *, keep_hours: int, keep_files: int) -> str:
    """Keep `data` and answer its digest; older uploads beyond the limits are removed."""
    folder = store_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    target = folder / f"{digest}{SUFFIX}"
    if not target.exists():
        # Written under a temporary name and renamed: a reader never sees half a file.
        temporary = folder / f".{digest}.{os.getpid()}.tmp"
        temporary.write_bytes(data)
        temporary.replace(target)
    else:
        target.touch()
    cleanup(data_dir, keep_hours=keep_hours, keep_files=keep_files, keep=target)
    return digest


def load(data_dir: Path, digest: str) -> bytes | None:
    """The upload with this digest, or None when it is gone (or the digest is not one)."""
    if not DIGEST.match(digest):
        return None
    path = store_dir(data_dir) / f"{digest}{SUFFIX}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if hashlib.sha256(data).hexdigest() != digest:
        return None
    return data


def discard(data_dir: Path, digest: str) -> None:
    if DIGEST.match(digest):
        (store_dir(data_dir) / f"{digest}{SUFFIX}").unlink(missing_ok=True)


def cleanup(data_dir: Path, *, keep_hours: int, keep_files: int, keep: Path | None = None) -> int:
    """Remove uploads older than `keep_hours`, then the oldest beyond `keep_files`."""
    folder = store_dir(data_dir)
    if not folder.is_dir():
        return 0
    now = time.time()
    entries: list[tuple[float, Path]] = []
    for path in folder.iterdir():
        try:
            entries.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    removed = 0
    entries.sort(reverse=True)
    for index, (mtime, path) in enumerate(entries):
        if path == keep:
            continue
        if now - mtime > keep_hours * 3600 or index >= keep_files:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
