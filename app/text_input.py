"""The one policy for text entering Seratus, and how stored text leaves it in files.

Every text that arrives (form fields, JSON strings and keys, query parameters, upload file
names) passes `text_boundary`, an app-wide dependency, before any route runs: a character
the policy refuses answers 422 naming the field, on SQLite and PostgreSQL alike (PostgreSQL
cannot store NUL; openpyxl cannot write C0 controls; neither can encode a lone surrogate).
The typed fields (`SingleLineText`, `MultiLineText`) then normalise what is allowed: line
breaks to LF, NFC, and single-line fields onto one line. Text that does not come from a
request uses the same rule by name: imported cells (`cell_text`), header values kept as data
(`header_text`), and the files the exports write (`export_text`). The README's "Text input"
section is the per-field table.
"""

import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.datastructures import UploadFile

# C0 controls except tab, LF and CR; DEL and the C1 controls; lone surrogates (no encoding can
# carry them); U+FFFE/U+FFFF (not characters; XML, and so .xlsx, cannot hold them).
REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Line and page breaks a paste from Word or a spreadsheet cell carries (VT is Word's manual
# line break, FF its page break; NEL, LS and PS are Unicode's): in imported cells they are
# line breaks.
PASTED_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
LINE_BREAKS = re.compile("\r\n|\r")
ONE_LINE = re.compile("[\t\n]+")
ERROR_TYPE = "text_forbidden_character"

_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BS",
    0x0B: "VT",
    0x0C: "FF",
    0x1B: "ESC",
    0x7F: "DEL",
    0x85: "NEL",
}


def refused_character(text: str) -> str | None:
    """The first character the policy refuses in `text`, or None."""
    found = REFUSED.search(text)
    return found.group() if found else None


def describe(char: str) -> str:
    """`U+0000 (NUL)`: how a message names a refused character (it cannot be shown)."""
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        kind = "surrogat tunggal"
    elif point in (0xFFFE, 0xFFFF):
        kind = "bukan karakter"
    else:
        kind = _NAMES.get(point, "karakter kendali")
    return f"U+{point:04X} ({kind})"


def refusal_message(char: str) -> str:
    return (
        f"Teks berisi karakter yang tidak diizinkan: {describe(char)}. Hapus karakter itu "
        "(biasanya terbawa saat menyalin dari aplikasi lain) lalu kirim lagi."
    )


class TextRefused(ValueError):
    """Text holding a character the policy refuses; `message` is for the user."""

    def __init__(self, char: str) -> None:
        self.char = char
        self.message = refusal_message(char)
        super().__init__(self.message)


def check_text(text: str) -> str:
    """`text` unchanged, or TextRefused."""
    char = refused_character(text)
    if char is not None:
        raise TextRefused(char)
    return text


def clean_text(text: str, *, multiline: bool) -> str:
    """Refuse what the policy refuses; CR LF and CR become LF; a single-line field gets its
    tabs and line breaks as one space; NFC, so equal text compares and searches equal."""
    check_text(text)
    text = LINE_BREAKS.sub("\n", text)
    if not multiline:
        text = ONE_LINE.sub(" ", text)
    return unicodedata.normalize("NFC", text)


def search_text(text: str) -> str:
    """A search term or a name to compare (usernames, codes): the policy, trimmed, NFC."""
    return clean_text(text, multiline=False).strip()


def cell_text(text: str) -> str:
    """An imported spreadsheet cell: pasted line and page breaks become line breaks, then
    the policy (other controls are refused: the import names the row and column)."""
    return clean_text(PASTED_BREAKS.sub("\n", text), multiline=True)


def header_text(text: str) -> str:
    """A header value kept as data (the login's User-Agent): refused characters are dropped,
    since no user typed them and a login must not fail over them."""
    return unicodedata.normalize("NFC", REFUSED.sub("", text))


# Visible stand-ins for what a file format cannot hold: C0 controls as their Control Pictures
# (U+2400 …, "␀" for NUL), DEL as "␡", anything else refused as U+FFFD "�".
def _visible(found: re.Match[str]) -> str:
    point = ord(found.group())
    if point < 0x20:
        return chr(0x2400 + point)
    if point == 0x7F:
        return "\u2421"
    return "\ufffd"


def export_text(text: str) -> str:
    """Stored text as the exports write it: every character the policy refuses (rows written
    before it existed may hold them) replaced by a visible stand-in, so an export never fails
    and never silently drops anything."""
    return REFUSED.sub(_visible, text) if REFUSED.search(text) else text


# --- typed fields for schemas and forms ---------------------------------------------------


def _field_validator(*, multiline: bool) -> BeforeValidator:
    def validate(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the str type reports a wrong type itself
        try:
            return clean_text(value, multiline=multiline).strip()
        except TextRefused as exc:
            raise PydanticCustomError(ERROR_TYPE, exc.message) from None

    return BeforeValidator(validate)


# One line of text (titles, names, codes, targets, captions): trimmed, tabs and line breaks
# as one space, NFC. Refused characters fail validation with ERROR_TYPE, naming the field.
SingleLineText = Annotated[str, _field_validator(multiline=False)]
# Text with line breaks (descriptions, notes, reasons, directives): trimmed, LF, NFC.
MultiLineText = Annotated[str, _field_validator(multiline=True)]


# --- the request boundary -----------------------------------------------------------------


def _json_strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*loc, key), str(key)
            yield from _json_strings(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, (*loc, index))


async def _request_texts(request: Request) -> Iterator[tuple[tuple[Any, ...], str]]:
    texts: list[tuple[tuple[Any, ...], str]] = []
    for name, value in request.query_params.multi_items():
        texts += [(("query", name), name), (("query", name), value)]
    content_type = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            # Parsed once: Starlette keeps the form for the route and the CSRF check.
            form = await request.form()
            for name, item in form.multi_items():
                texts.append((("body", name), name))
                if isinstance(item, UploadFile):
                    texts.append((("body", name, "filename"), item.filename or ""))
                else:
                    texts.append((("body", name), item))
        elif "json" in content_type:
            body = await request.body()
            if body:
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None  # FastAPI answers malformed JSON itself (422 json_invalid)
                texts += list(_json_strings(parsed, ("body",)))
    return iter(texts)


async def text_boundary(request: Request) -> None:
    """App-wide dependency: refuse (422, naming the field) any request whose query string,
    form fields, upload file names or JSON strings hold a character the policy refuses."""
    for loc, text in await _request_texts(request):
        char = refused_character(text)
        if char is not None:
            raise RequestValidationError(
                [{"type": ERROR_TYPE, "loc": loc, "msg": refusal_message(char), "input": None}]
            )
