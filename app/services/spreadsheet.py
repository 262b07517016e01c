"""The task spreadsheet: its columns, reading an uploaded .xlsx or .csv without trusting it,
and writing .xlsx (openpyxl) and .csv files that Excel opens with Indonesian text intact.

Reading decides the format by the content, never by the file name: a zip with
`xl/workbook.xml` is a workbook, anything else must decode as text and is read as CSV.
Every refusal is a `FileRefused` with a message an official can act on.
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from app.errors import DomainError
from app.text_input import export_text

# openpyxl is imported where a workbook is read or written: a web worker that never handles
# one does not carry it (tests/test_worker_footprint.py).
if TYPE_CHECKING:
    from openpyxl import Workbook

TASK_SHEET = "Tugas"
GUIDE_SHEET = "Petunjuk"
LISTS_SHEET = "Daftar"
HISTORY_SHEET = "Riwayat"

# Multi-valued cells (supporting units, programs): agency names contain commas.
LIST_SEPARATOR = ";"
# Characters that make Excel (or LibreOffice) read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@")
NEUTRAL_PREFIX = "'"
# Rows of the template that carry the drop-down lists.
TEMPLATE_ROWS = 1000
# Columns read from a row; anything further right is ignored.
MAX_COLUMNS = 40
# A workbook with more members than this is not a spreadsheet anyone filled in.
MAX_ZIP_MEMBERS = 1000
# Blank rows in a row after which the rest of a sheet is taken as empty (formatted blanks).
BLANK_RUN_MAX = 1000

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    help: str


TASK_COLUMNS: tuple[Column, ...] = (
    Column(
        "code",
        "Kode",
        10,
        "Kode tugas, misalnya T-001. Kode yang sudah ada memperbarui tugas itu; kode baru "
        "membuat tugas dengan kode tersebut; kosong membuat tugas baru dengan kode berikutnya "
        "(atau memperbarui tugas yang judulnya persis sama).",
    ),
    Column("title", "Judul", 48, "Wajib, 3–200 karakter."),
    Column("description", "Uraian", 60, "Penjelasan tugas (boleh kosong)."),
    Column(
        "lead_unit",
        "Perangkat Daerah",
        26,
        "Wajib: perangkat daerah penanggung jawab. Kode (PUTR) atau nama (Dinas PUTR, Dinas "
        "Pekerjaan Umum dan Penataan Ruang); pilih dari daftar.",
    ),
    Column(
        "supporting_units",
        "Perangkat Daerah Pendukung",
        30,
        "Kode atau nama; beberapa dipisahkan titik koma (;).",
    ),
    Column(
        "programs",
        "Program",
        30,
        "Kode atau nama program (Banyuasin Cerdas); beberapa dipisahkan titik koma (;).",
    ),
    Column(
        "district",
        "Kecamatan",
        20,
        "Nama atau kode Kemendagri (16.07.14); ejaan lain yang dikenal juga diterima "
        "(Air Saleh = Air Salek).",
    ),
    Column("village", "Desa/Kelurahan", 20, "Nama desa atau kelurahan (boleh kosong)."),
    Column(
        "due_date",
        "Tenggat",
        13,
        "Tanggal di dalam masa rencana: 2025-03-15, 15/03/2025, atau sel tanggal Excel.",
    ),
    Column("weight", "Bobot", 8, "Bilangan bulat 1–100; kosong berarti 1."),
    Column("target", "Target", 20, "Misalnya 1 unit (60 m) atau 3,3 km."),
    Column(
        "status",
        "Status",
        18,
        "Belum Dimulai, Sedang Berjalan, Menunggu Verifikasi atau Selesai; kosong berarti "
        "Belum Dimulai untuk tugas baru dan tidak berubah untuk tugas lama. Menunggu "
        "Verifikasi hanya untuk tugas yang sudah punya bukti dukung. Terkendala dan "
        "Dibatalkan memerlukan alasan, jadi diubah lewat papan.",
    ),
)

# Exported for reading only; an import ignores them (progress is reported by the agencies).
INFO_COLUMNS: tuple[Column, ...] = (
    Column("progress_pct", "Capaian (%)", 11, "Hanya informasi; diabaikan saat impor."),
    Column("realisation", "Realisasi", 20, "Hanya informasi; diabaikan saat impor."),
    Column("needs_decision", "Perlu Keputusan", 14, "Hanya informasi; diabaikan saat impor."),
    Column("updated_at", "Terakhir Diubah", 18, "Hanya informasi; diabaikan saat impor."),
)

HISTORY_HEADERS = ("Kode", "Judul", "Waktu (WIB)", "Oleh", "Kejadian", "Dari", "Ke", "Catatan")


class FileRefused(DomainError):
    """The upload is not a spreadsheet this import can read safely; nothing was changed."""

    status_code = 400


class FileTooLarge(FileRefused):
    status_code = 413


@dataclass(frozen=True)
class Formula:
    """A formula cell of a workbook (refused: an import takes values only)."""

    text: str


Cell = str | int | float | date | datetime | Formula | None


@dataclass
class Sheet:
    """The rows of an upload: the header cells and the non-blank rows below them, each with
    its row number as the spreadsheet shows it."""

    kind: Literal["xlsx", "csv"]
    headers: list[str]
    header_row: int = 1
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    max_unzipped_bytes: int


# --- reading ---------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",") + " MB"


def read_upload(data: bytes, filename: str, *, limits: Limits) -> Sheet:
    """The uploaded file's rows, or `FileRefused` saying why it cannot be read."""
    if not data:
        raise FileRefused("Berkas kosong.")
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            f"Berkas terlalu besar ({_mb(len(data))}); batasnya {_mb(limits.max_bytes)}."
        )
    name = filename.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise FileRefused(
            "Berkas Excel lama (.xls) tidak didukung. Simpan sebagai Buku Kerja Excel (.xlsx) "
            "atau CSV lalu unggah lagi."
        )
    if data.startswith(b"PK\x03\x04"):
        sheet = _read_xlsx(data, limits=limits)
    elif name.endswith(".xlsx"):
        raise FileRefused("Berkas ini bukan berkas Excel (.xlsx) yang sah.")
    elif name.endswith((".csv", ".txt")) or not name:
        sheet = _read_csv(data)
    else:
        raise FileRefused("Jenis berkas tidak didukung. Unggah berkas .xlsx atau .csv.")
    if len(sheet.rows) > limits.max_rows:
        raise FileRefused(
            f"Berkas berisi {len(sheet.rows)} baris tugas; paling banyak {limits.max_rows} "
            "baris sekali impor. Bagi menjadi beberapa berkas."
        )
    return sheet


def _read_xlsx(data: bytes, *, limits: Limits) -> Sheet:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise FileRefused("Berkas ini bukan lembar kerja yang dapat dibaca.")
            unpacked = sum(m.file_size for m in members)
            if unpacked > limits.max_unzipped_bytes:
                raise FileRefused(
                    f"Isi berkas Excel terlalu besar setelah dibuka ({_mb(unpacked)}; batasnya "
                    f"{_mb(limits.max_unzipped_bytes)})."
                )
            if "xl/workbook.xml" not in {m.filename for m in members}:
                raise FileRefused("Berkas ini bukan berkas Excel (.xlsx) yang sah.")
    except zipfile.BadZipFile as exc:
        raise FileRefused("Berkas Excel rusak dan tidak dapat dibuka.") from exc
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except FileRefused:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a malformed workbook
        raise FileRefused("Berkas Excel rusak dan tidak dapat dibaca.") from exc
    try:
        names = book.sheetnames
        sheet_name = TASK_SHEET if TASK_SHEET in names else names[0]
        worksheet = book[sheet_name]
        if not hasattr(worksheet, "iter_rows"):
            raise FileRefused(f"Lembar '{sheet_name}' bukan tabel.")
        rows: list[tuple[int, list[Cell]]] = []
        physical_max = limits.max_rows * 2 + 50
        blank_run = 0
        for number, raw in enumerate(
            worksheet.iter_rows(max_col=MAX_COLUMNS),
            start=1,
        ):
            cells = [_xlsx_value(c) for c in raw]
            if all(_blank(c) for c in cells):
                blank_run += 1
                if blank_run > BLANK_RUN_MAX:
                    break
                continue
            blank_run = 0
            if number > physical_max:
                raise FileRefused(
                    f"Berkas berisi lebih dari {limits.max_rows} baris tugas; bagi menjadi "
                    "beberapa berkas."
                )
            rows.append((number, cells))
    except FileRefused:
        raise
    except Exception as exc:
        raise FileRefused("Berkas Excel rusak dan tidak dapat dibaca.") from exc
    finally:
        book.close()
    return _with_headers("xlsx", rows)


def _xlsx_value(cell: Any) -> Cell:
    value = getattr(cell, "value", None)
    kind = getattr(cell, "data_type", None)
    if kind == "f" or (isinstance(value, str) and kind != "s" and value.startswith("=")):
        return Formula(str(value))
    if kind == "e":
        # An error value (#REF!, #N/A) is what a broken formula left behind.
        return Formula(str(value))
    if value is None or isinstance(value, (str, int, float, date, datetime)):
        return value if not isinstance(value, bool) else str(value)
    return str(value)


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else
    Windows-1252 (Excel's "CSV" on Windows)."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            "Berkas CSV rusak: tanda pengodean menyatakan Unicode tetapi isinya tidak. Simpan "
            "ulang sebagai CSV UTF-8."
        ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            "Pengodean huruf berkas CSV tidak dikenali. Di Excel pilih Simpan Sebagai → "
            "'CSV UTF-8 (dipisahkan koma)' lalu unggah lagi."
        ) from exc


def _read_csv(data: bytes) -> Sheet:
    text = _decode(data)
    if "\x00" in text:
        raise FileRefused("Berkas ini bukan lembar kerja: unggah berkas .xlsx atau .csv.")
    if text.lstrip()[:1] == "<":
        raise FileRefused(
            "Berkas ini bukan lembar kerja (isinya tampak seperti halaman web). Unggah berkas "
            ".xlsx atau .csv."
        )
    first_line = text.split("\n", 1)[0]
    # Excel in Indonesian settings writes ";" between cells; elsewhere ",".
    delimiter = max((",", ";", "\t"), key=first_line.count)
    rows: list[tuple[int, list[Cell]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, raw in enumerate(reader, start=1):
            cells: list[Cell] = list(raw[:MAX_COLUMNS])
            if all(_blank(c) for c in cells):
                continue
            rows.append((number, cells))
    except csv.Error as exc:
        raise FileRefused(
            f"Berkas CSV rusak di sekitar baris {reader.line_num}: isinya tidak terbaca "
            "(sel terlalu besar atau tanda petik tidak tertutup)."
        ) from exc
    return _with_headers("csv", rows)


def normalise_header(text: str) -> str:
    return " ".join(text.replace("*", " ").lower().split())


def _with_headers(kind: Literal["xlsx", "csv"], rows: list[tuple[int, list[Cell]]]) -> Sheet:
    """The header row is the first of the first ten with a "Judul" cell (a title line above
    the table is allowed); the rows before it are dropped."""
    wanted = normalise_header("Judul")
    for index, (number, cells) in enumerate(rows[:10]):
        headers = [normalise_header(c) if isinstance(c, str) else "" for c in cells]
        if wanted in headers:
            return Sheet(
                kind=kind,
                headers=[str(c).strip() if c is not None else "" for c in cells],
                header_row=number,
                rows=rows[index + 1 :],
            )
    if not rows:
        raise FileRefused("Berkas tidak berisi tabel tugas.")
    raise FileRefused(
        "Baris judul kolom tidak ditemukan: baris pertama tabel harus memuat kolom "
        "'Judul' dan 'Perangkat Daerah' seperti pada templat."
    )


# --- writing ---------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """Text as a file may hold it: what the text policy refuses replaced visibly (stored rows
    may hold it; openpyxl refuses control characters), and text that a spreadsheet would run
    as a formula behind a leading apostrophe."""
    if not isinstance(value, str):
        return value
    value = export_text(value)
    if value.startswith(FORMULA_PREFIXES):
        return NEUTRAL_PREFIX + value
    return value


@dataclass(frozen=True)
class ChoiceLists:
    """What the template's drop-down lists offer (names as the import matches them)."""

    units: Sequence[str]
    programs: Sequence[str]
    districts: Sequence[str]
    statuses: Sequence[str]


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM (so Excel reads the encoding right), comma-separated, CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(_csv_text(v)) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_workbook(
    rows: Iterable[Sequence[Any]],
    *,
    lists: ChoiceLists,
    info_rows: Sequence[Sequence[Any]] | None = None,
    history: Iterable[Sequence[Any]] | None = None,
    with_guide: bool = True,
) -> bytes:
    """The task workbook: "Tugas" (the import columns, then the information columns when
    `info_rows` is given, one per task row), "Petunjuk", the hidden "Daftar" that feeds the
    drop-downs, and "Riwayat" when a history is given. The template is this with no rows.
    `with_guide` False leaves out "Petunjuk" (how to fill it in for an import): readers who
    cannot import get the data only."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = TASK_SHEET
    columns = [*TASK_COLUMNS, *(INFO_COLUMNS if info_rows is not None else ())]
    _header(sheet, [c.header for c in columns], [c.width for c in columns])
    count = 0
    for index, row in enumerate(rows):
        extra = list(info_rows[index]) if info_rows is not None else []
        sheet.append([_xlsx_cell(v) for v in [*row, *extra]])
        count += 1
    for row_cells in sheet.iter_rows(min_row=2, max_row=count + 1):
        for cell in row_cells:
            if isinstance(cell.value, date):
                cell.number_format = "dd/mm/yyyy"
    if with_guide:
        _guide(book)
    _lists(book, sheet, lists, last_row=max(TEMPLATE_ROWS, count + 1))
    if history is not None:
        log = book.create_sheet(HISTORY_SHEET)
        _header(log, list(HISTORY_HEADERS), [10, 40, 18, 24, 24, 18, 18, 60])
        for event in history:
            log.append([_xlsx_cell(v) for v in event])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        # Excel has no time zones; the caller passes local (WIB) times.
        return value.replace(tzinfo=None)
    return neutralise(value)


def _header(sheet: Any, headers: list[str], widths: list[int]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet.append(headers)
    for index, width in enumerate(widths, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F5F4A")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


def _guide(book: "Workbook") -> None:
    from openpyxl.styles import Font

    guide = book.create_sheet(GUIDE_SHEET)
    lines: list[list[str]] = [
        ["Petunjuk pengisian rencana kerja 100 hari"],
        [],
        [
            "1. Isi satu tugas per baris pada lembar 'Tugas', mulai baris 2. Jangan ubah judul "
            "kolom di baris 1."
        ],
        [
            "2. Unggah berkas di menu Impor tugas. Pratinjau menampilkan tugas yang akan dibuat, "
            "diperbarui dan yang tidak berubah, serta setiap masalah per baris dan kolom."
        ],
        [
            "3. Tidak ada yang tersimpan sebelum Anda menekan Terapkan; bila ada satu baris "
            "bermasalah, tidak satu pun tersimpan."
        ],
        [
            "4. Isi nilai saja, bukan rumus. Teks yang diawali = + - @ harus diawali tanda "
            "petik (') agar tidak dijalankan sebagai rumus."
        ],
        [
            "5. Nama perangkat daerah, program dan kecamatan boleh ditulis dengan kode atau "
            "nama; huruf besar/kecil dan spasi tidak berpengaruh."
        ],
        [],
        ["Kolom", "Keterangan"],
    ]
    lines += [[c.header, c.help] for c in TASK_COLUMNS]
    lines += [[c.header, c.help] for c in INFO_COLUMNS]
    for line in lines:
        guide.append(line)
    guide["A1"].font = Font(bold=True, size=13)
    guide.cell(row=9, column=1).font = Font(bold=True)
    guide.cell(row=9, column=2).font = Font(bold=True)
    guide.column_dimensions["A"].width = 28
    guide.column_dimensions["B"].width = 110


def _lists(book: "Workbook", sheet: Any, lists: ChoiceLists, *, last_row: int) -> None:
    """The choices on a hidden sheet, and drop-downs on the task columns that use them.
    Multi-valued columns get the list as a suggestion only (more than one may be typed)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    hidden = book.create_sheet(LISTS_SHEET)
    hidden.sheet_state = "hidden"
    named = {
        "lead_unit": (1, "Perangkat Daerah", lists.units, True),
        "supporting_units": (1, "Perangkat Daerah", lists.units, False),
        "programs": (2, "Program", lists.programs, False),
        "district": (3, "Kecamatan", lists.districts, True),
        "status": (4, "Status", lists.statuses, True),
    }
    for column, header, values in (
        (1, "Perangkat Daerah", lists.units),
        (2, "Program", lists.programs),
        (3, "Kecamatan", lists.districts),
        (4, "Status", lists.statuses),
    ):
        hidden.cell(row=1, column=column, value=header)
        for row, value in enumerate(values, start=2):
            hidden.cell(row=row, column=column, value=neutralise(value))
    keys = [c.key for c in TASK_COLUMNS]
    for key, (list_column, header, values, strict) in named.items():
        letter = get_column_letter(list_column)
        # No leading "=" in the file: Excel stores list sources without it.
        source = f"{LISTS_SHEET}!${letter}$2:${letter}${max(len(values), 1) + 1}"
        validation = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showErrorMessage=strict,
            errorTitle=header,
            error=f"Pilih {header.lower()} dari daftar.",
        )
        target = get_column_letter(keys.index(key) + 1)
        validation.add(f"{target}2:{target}{last_row}")
        sheet.add_data_validation(validation)
