"""Bytes to text, for the two kinds of input that need different rules.

``decode_text`` reads a file of the article folder: it must be text, so a
binary file or an incoherent detection is refused (a dead letter) rather
than guessed at. ``decode_page`` reads a fetched web page: a page is always
shown, so it trusts, in order, a byte-order mark, valid non-ASCII UTF-8, the
declared charset, ``<meta charset>``, detection, and finally UTF-8 with
replacement characters. Both use charset-normalizer for detection.
"""

import codecs
import re

import charset_normalizer

from transforms.core.errors import ReadError

#: Signatures of binary files (PDF, images, archives, executables, media).
BINARY_MAGIC = (
    b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"BZh",
    b"\x7fELF", b"MZ", b"RIFF", b"OggS", b"ID3", b"\x00\x00\x01\x00", b"7z\xbc\xaf",
)  # fmt: skip
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """Decodes a text file, refusing binary data rather than guessing at it.

    UTF-8 (or a byte-order mark) first; otherwise charset detection, which
    must find a coherent reading or the item is dead-lettered as undecodable.
    """
    if not data.strip():
        raise ReadError("empty", "the item is empty or whitespace only")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ReadError("undecodable", f"invalid {encoding}: {exc}") from None
    if data.startswith(BINARY_MAGIC) or b"\x00" in data[:8192]:
        raise ReadError("binary", "binary data (a NUL byte or a binary file signature)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        raise ReadError(
            "undecodable", f"not UTF-8 ({utf8_error}) and no coherent encoding detected"
        )
    return str(best)


_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)""", re.IGNORECASE
)
_LATIN_CODE_PAGES = frozenset({
    "cp1250", "cp1252", "cp1254", "cp1257", "iso8859-1", "iso8859-2", "iso8859-3", "iso8859-4",
    "iso8859-9", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-15", "iso8859-16", "mac-roman",
})  # fmt: skip


def declared_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if it names a known codec."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return _codec(match.group(1)) if match else None


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def is_utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_page(data: bytes, declared: str | None) -> tuple[str, str]:
    """Decodes an HTML page; returns the text and the encoding used.

    Order: a byte-order mark; UTF-8 when the body is valid UTF-8 with non-ASCII
    characters (such text is almost never another encoding, while a server's
    declared charset is often a wrong default); the charset declared in the
    header; the page's own ``<meta charset>``; detection; UTF-8 with
    replacement characters as the last resort.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    if is_utf8_with_non_ascii(data):
        return data.decode("utf-8"), "utf-8"
    meta = _META_CHARSET.search(data[:4096])
    candidates = [declared, _codec(meta.group(1).decode("ascii")) if meta else None, "utf-8"]
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            return data.decode(candidate), candidate
        except (UnicodeDecodeError, LookupError):
            continue
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is not None:
        guess = _codec(best.encoding) or "utf-8"
        if guess in _LATIN_CODE_PAGES:
            # Detection cannot tell Latin code pages apart on a short page;
            # windows-1252 is the web's default among them (WHATWG).
            guess = "cp1252"
        try:
            return data.decode(guess), guess
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", "replace"), "utf-8"
