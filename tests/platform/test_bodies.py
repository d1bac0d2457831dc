"""Request bodies are read whole, however they arrive (issue 16, item 1).

A JSON body sent in pieces (chunked transfer encoding, a slow network) used to be cut at the
first piece: `415 body is not valid JSON`; a large chunked body passed the size check.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from service.platform.http import MAX_JSON_BODY
from tests.intake.test_api_cases import case_body
from tests.platform.test_errors import error_of
from tests.support import Api


async def in_pieces(body: bytes, size: int, pause: float = 0.02) -> AsyncIterator[bytes]:
    """The body in `size`-byte pieces with a pause between them, as a slow client sends it
    (the client then uses chunked transfer encoding: no Content-Length)."""
    for start in range(0, len(body), size):
        yield body[start:start + size]
        await asyncio.sleep(pause)


def padded(data: dict[str, object], length: int) -> bytes:
    raw = json.dumps(data).encode("utf-8")
    assert len(raw) < length
    # Whitespace before the closing brace keeps it the same JSON object.
    return raw[:-1] + b" " * (length - len(raw)) + b"}"


async def test_a_json_body_in_pieces_is_read_whole(sqlite_api: Api) -> None:
    body = padded(case_body(), 2001)
    assert len(body) == 2001
    resp = await sqlite_api.client.post(
        "/api/cases", data=in_pieces(body, 500),
        headers={**sqlite_api.auth("intake"), "Content-Type": "application/json"})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["case_id"] == "k1"
    # The same for a merge patch in pieces.
    patch = padded({"dismissed": True}, 1200)
    resp = await sqlite_api.client.patch(
        "/api/cases/k1", data=in_pieces(patch, 500),
        headers={**sqlite_api.auth("intake"), "Content-Type": "application/json"})
    assert resp.status == 200, await resp.text()


async def test_a_large_chunked_body_is_413(sqlite_api: Api) -> None:
    body = padded(case_body(), 300 * 1024)
    assert len(body) > MAX_JSON_BODY
    resp = await sqlite_api.client.post(
        "/api/cases", data=in_pieces(body, 64 * 1024, pause=0),
        headers={**sqlite_api.auth("intake"), "Content-Type": "application/json"})
    error = await error_of(resp, 413)
    assert str(MAX_JSON_BODY) in error["error"]
    # Just at the limit is read (and judged on its content).
    body = padded(case_body(case_id="k2"), MAX_JSON_BODY)
    resp = await sqlite_api.client.post(
        "/api/cases", data=in_pieces(body, 64 * 1024, pause=0),
        headers={**sqlite_api.auth("intake"), "Content-Type": "application/json"})
    assert resp.status == 201, await resp.text()
