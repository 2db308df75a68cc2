"""The in-memory form reader: multipart bodies as browsers and httpx write them, and refusals.

The day board's upload form is the one multipart body the service reads; the CSRF check reads
its token from the same parts. A body that is not what its content type says yields no fields
(so no token) and a FormError for the upload route.
"""

from __future__ import annotations

import httpx
import pytest

from api.forms import FormError, form_fields, parse_multipart


def _encoded(data: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart body and its content type, as httpx (and so the TestClient) sends them."""
    request = httpx.Request("POST", "http://test/", data=data, files=files)
    return request.read(), request.headers["content-type"]


def test_fields_and_files_come_back_byte_for_byte() -> None:
    text = (
        "workshop: {id: a}\r\n# 中文 and a line ending in CRLF\r\n\r\n--not-a-boundary\n".encode()
    )
    body, content_type = _encoded(
        {"csrf_token": "abc", "replace": "on"},
        {
            "day_file": ("dir/day.yaml", text, "application/x-yaml"),
            "bookings_csv": ("", b"", "application/octet-stream"),
        },
    )
    parts = parse_multipart(body, content_type)
    assert [(p.name, p.filename) for p in parts] == [
        ("csrf_token", None),
        ("replace", None),
        ("day_file", "day.yaml"),  # only the last segment of a path is kept
        ("bookings_csv", None),  # httpx writes no filename="" for a file without a name
    ]
    assert parts[2].data == text and parts[2].content_type == "application/x-yaml"
    fields = form_fields(body, content_type)  # files are left out
    assert fields == {"csrf_token": ["abc"], "replace": ["on"], "bookings_csv": [""]}


def test_a_browsers_body_with_a_quoted_boundary_preamble_and_epilogue() -> None:
    body = (
        b"preamble to ignore\r\n"
        b"------WebKitFormBoundaryX3\r\n"
        b'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        b"tok\r\n"
        b"------WebKitFormBoundaryX3\r\n"
        b'Content-Disposition: form-data; name="day_file"; '
        b'filename="C:\\\\Users\\\\me\\\\a.yaml"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
        b"day: 2026-11-26\r\n"
        b"------WebKitFormBoundaryX3\r\n"
        b'Content-Disposition: form-data; name="bookings_csv"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
        b"\r\n"
        b"------WebKitFormBoundaryX3--\r\nepilogue"
    )
    content_type = 'multipart/form-data; boundary="----WebKitFormBoundaryX3"'
    parts = parse_multipart(body, content_type)
    assert [(p.name, p.filename) for p in parts] == [
        ("csrf_token", None),
        ("day_file", "a.yaml"),
        ("bookings_csv", ""),  # a file input left empty
    ]
    assert parts[1].data == b"day: 2026-11-26" and parts[2].data == b""


PART = b"Content-Disposition: form-data; name=a\r\n\r\nx\r\n--b"
B = "multipart/form-data; boundary=b"


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"a=1", "application/x-www-form-urlencoded", "expected multipart"),
        (b"--b\r\n\r\nx\r\n--b--", "multipart/form-data", "boundary"),
        (b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx", B, "closing boundary"),
        (b"--b\r\nContent-Disposition: form-data; name=a\r\nx\r\n--b--", B, "blank line"),
        (b"--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--", B, "with a name"),
        (b"--b\r\n" + (PART + b"\r\n") * 17 + b"--", B, "at most 16 parts"),
    ],
)
def test_malformed_bodies_are_refused(body: bytes, content_type: str, says: str) -> None:
    with pytest.raises(FormError, match=says):
        parse_multipart(body, content_type)
    assert form_fields(body, content_type) == ({"a": ["1"]} if b"=" in body[:3] else {})


def test_url_encoded_forms_keep_their_blank_values() -> None:
    fields = form_fields(
        b"csrf_token=t&customer=&kind=walk-in", "application/x-www-form-urlencoded"
    )
    assert fields == {"csrf_token": ["t"], "customer": [""], "kind": ["walk-in"]}
