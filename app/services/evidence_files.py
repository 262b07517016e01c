"""Evidence files: what a file really is (by its content, never its name), and where it lives.

Accepted: JPEG, PNG and WebP images, PDF, and the Office Open XML documents (.docx, .xlsx,
.pptx; zip containers whose `[Content_Types].xml` declares the main part of that kind, so the
macro-enabled .docm/.xlsm variants are refused). Legacy .doc/.xls are refused: they are opaque
OLE containers that commonly carry macros, and every office suite saves the modern formats.

Files are stored under `<data dir>/evidence/ab/cd/<sha256>`: one copy per content, whatever
the number of tasks or uploads that refer to it, outside anything the web server serves.
"""

import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from app.errors import RuleViolation

CHUNK = 64 * 1024
# [Content_Types].xml of a real document is a few kilobytes.
CONTENT_TYPES_MAX = 256 * 1024


@dataclass(frozen=True)
class FileType:
    content_type: str
    extensions: tuple[str, ...]  # the first is the canonical one
    label: str
    inline: bool  # safe to show in the browser (images, PDF); documents download

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


JPEG: Final = FileType("image/jpeg", (".jpg", ".jpeg"), "gambar JPEG", inline=True)
PNG: Final = FileType("image/png", (".png",), "gambar PNG", inline=True)
WEBP: Final = FileType("image/webp", (".webp",), "gambar WebP", inline=True)
PDF: Final = FileType("application/pdf", (".pdf",), "dokumen PDF", inline=True)
DOCX: Final = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
    "dokumen Word (.docx)",
    inline=False,
)
XLSX: Final = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (".xlsx",),
    "lembar kerja Excel (.xlsx)",
    inline=False,
)
PPTX: Final = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    (".pptx",),
    "presentasi PowerPoint (.pptx)",
    inline=False,
)
FILE_TYPES: Final = (JPEG, PNG, WEBP, PDF, DOCX, XLSX, PPTX)
BY_CONTENT_TYPE: Final = {t.content_type: t for t in FILE_TYPES}
ACCEPT_ATTRIBUTE: Final = ",".join(
    [t.content_type for t in FILE_TYPES] + [e for t in FILE_TYPES for e in t.extensions]
)
ALLOWED_SUMMARY = "gambar (JPEG, PNG, WebP), PDF, atau dokumen Office (DOCX, XLSX, PPTX)"

# The main part each OOXML kind declares, and the member that holds it.
_OOXML: Final = (
    (DOCX, "word/document.xml", DOCX.content_type + ".main+xml"),
    (XLSX, "xl/workbook.xml", XLSX.content_type + ".main+xml"),
    (PPTX, "ppt/presentation.xml", PPTX.content_type + ".main+xml"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _by_extension(name: str) -> FileType | None:
    suffix = Path(name).suffix.lower()
    return next((t for t in FILE_TYPES if suffix in t.extensions), None)


def _sniff_head(head: bytes) -> FileType | None:
    """The type the first bytes announce; zip containers are only candidates (see below)."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def _ooxml_type(path: Path) -> FileType | None:
    """An Office Open XML document: a readable zip with the kind's main part declared."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names:
                return None
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > CONTENT_TYPES_MAX:
                return None
            declared = archive.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError):
        return None
    for file_type, member, main_type in _OOXML:
        if member in names and main_type in declared:
            return file_type
    return None


def detect(path: Path, head: bytes, *, display_name: str) -> FileType:
    """The accepted type of the file at `path` (whose first bytes are `head`), or a refusal
    that says what the file claimed to be and what it is not."""
    found = _sniff_head(head)
    if found is None and head.startswith(b"PK\x03\x04"):
        found = _ooxml_type(path)
    if found is not None:
        return found
    claimed = _by_extension(display_name)
    if head.startswith(_OLE_MAGIC):
        raise RuleViolation(
            f"Berkas «{display_name}» berformat Office lama (.doc/.xls/.ppt) yang tidak "
            "diterima; simpan ulang sebagai .docx, .xlsx, atau .pptx lalu unggah lagi.",
            field="file",
        )
    if claimed is not None:
        raise RuleViolation(
            f"Berkas «{display_name}» bernama seperti {claimed.label}, tetapi isinya bukan "
            f"{claimed.label}. Berkas ditolak; yang diterima hanya {ALLOWED_SUMMARY} "
            "yang isinya sesuai.",
            field="file",
        )
    raise RuleViolation(
        f"Jenis berkas «{display_name}» tidak diterima. Unggah {ALLOWED_SUMMARY}.",
        field="file",
    )


_UNSAFE = re.compile(r"[^\w.\- ()]+")


def safe_filename(name: str, file_type: FileType) -> str:
    """A plain file name for storage in the database and `Content-Disposition`: no folders,
    no control or exotic characters, at most 120 characters, with an extension that matches
    the detected type."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    suffix = Path(base).suffix.lower()
    if suffix in file_type.extensions:
        stem, extension = Path(base).stem, suffix
    elif _by_extension(base) is not None:  # "foto.jpg" that is really a PNG: "foto.png"
        stem, extension = Path(base).stem, file_type.extensions[0]
    else:
        stem, extension = base, file_type.extensions[0]
    stem = _UNSAFE.sub("_", stem).strip(" ._") or "bukti-dukung"
    return stem[: 120 - len(extension)].rstrip(" ._") + extension


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size_bytes: int
    file_type: FileType
    filename: str


class EvidenceStore:
    """Content-addressed files under `root` (the data directory's `evidence` folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def save(self, source: BinaryIO, *, original_name: str, max_bytes: int) -> StoredFile:
        """Copy `source` in chunks (never more than `max_bytes` + 1 read), check what it is,
        and keep it under its hash; an identical file already stored is kept as it is."""
        display_name = original_name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:120]
        display_name = display_name or "berkas"
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        handle, temp_name = tempfile.mkstemp(dir=incoming)
        temp = Path(temp_name)
        try:
            with os.fdopen(handle, "wb") as out:
                while True:
                    chunk = source.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        raise RuleViolation(
                            f"Berkas «{display_name}» melebihi batas ukuran "
                            f"{format_size(max_bytes)}.",
                            field="file",
                        )
                    if len(head) < 16:
                        head = (head + chunk)[:16]
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise RuleViolation(f"Berkas «{display_name}» kosong.", field="file")
            file_type = detect(temp, head, display_name=display_name)
            sha = digest.hexdigest()
            target = self.path_of(sha)
            if target.is_file():
                temp.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StoredFile(
            sha256=sha,
            size_bytes=size,
            file_type=file_type,
            filename=safe_filename(display_name, file_type),
        )


def format_size(size: int) -> str:
    """1 536 000 → "1,5 MB" (Indonesian decimal comma)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    value = f"{size / (1024 * 1024):.1f}".replace(".", ",").removesuffix(",0")
    return f"{value} MB"
