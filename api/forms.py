"""Form bodies read in memory: url-encoded forms and ``multipart/form-data`` uploads.

The day board's forms are small url-encoded bodies, except the one that uploads a day file,
which a browser sends as ``multipart/form-data``. The body is at most ``max_body_bytes`` (the
guard has already refused anything larger), so it is parsed here from the bytes in memory:
no part is spooled to a temporary file, and a file's name is only a label, never a path that
is opened. The parser is strict (RFC 7578): a body it cannot read is a ``FormError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

MAX_PARTS = 16
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_PARAM = re.compile(r';\s*([A-Za-z0-9_.*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s"]*))')


class FormError(ValueError):
    """A form body that is not what its content type says."""


@dataclass(frozen=True, slots=True)
class FormPart:
    """One part of a multipart form: a field, or a file with the name the browser gave it."""

    name: str
    filename: str | None  # None: a plain field; "": a file input left empty
    content_type: str
    data: bytes

    @property
    def text(self) -> str:
        """A plain field's value (UTF-8, as browsers send it)."""
        return self.data.decode("utf-8", errors="replace")


def media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` header, lower case, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def _params(header: str) -> dict[str, str]:
    """The ``; name="value"`` parameters of a header, names lower case."""
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(header)
    }


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", errors="replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise FormError(f"a part has a malformed header line {line[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse_multipart(
    body: bytes, content_type: str, *, max_parts: int = MAX_PARTS
) -> list[FormPart]:
    """The parts of a ``multipart/form-data`` body, in order; FormError if it is malformed or
    has more than ``max_parts`` parts."""
    if media_type(content_type) != "multipart/form-data":
        raise FormError(f"expected multipart/form-data, got {media_type(content_type)!r}")
    boundary = _params(";" + content_type.split(";", 1)[-1]).get("boundary", "")
    if not _BOUNDARY.fullmatch(boundary):
        raise FormError("the multipart boundary is missing or not valid")
    # Every part, the first included, starts after CRLF "--boundary"; the last is "--".
    pieces = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("ascii"))
    parts: list[FormPart] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts  # the closing delimiter: what follows is the epilogue
        if len(parts) == max_parts:
            raise FormError(f"a form has at most {max_parts} parts")
        padding, newline, rest = piece.partition(b"\r\n")
        if not newline or padding.strip(b" \t"):
            raise FormError("a multipart boundary line is malformed")
        block, blank, data = rest.partition(b"\r\n\r\n")
        if not blank:
            raise FormError("a part has no blank line after its headers")
        headers = _headers(block)
        disposition = headers.get("content-disposition", "")
        params = _params(disposition)
        if media_type(disposition) != "form-data" or "name" not in params:
            raise FormError("a part is not form-data with a name")
        filename = params.get("filename")
        parts.append(
            FormPart(
                name=params["name"],
                filename=None if filename is None else _basename(filename),
                content_type=media_type(headers.get("content-type", "text/plain")),
                data=data,
            )
        )
    raise FormError("the body ends before its closing boundary")


def _basename(filename: str) -> str:
    """The last segment of a file name (old browsers send the whole path), printable, short."""
    name = re.split(r"[\\/]", filename)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:120]


def form_fields(body: bytes, content_type: str) -> dict[str, list[str]]:
    """The plain fields of a form body, url-encoded or multipart (files left out); a body
    that cannot be read has none."""
    if media_type(content_type) == "multipart/form-data":
        try:
            parts = parse_multipart(body, content_type)
        except FormError:
            return {}
        fields: dict[str, list[str]] = {}
        for part in parts:
            if part.filename is None:
                fields.setdefault(part.name, []).append(part.text)
        return fields
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
