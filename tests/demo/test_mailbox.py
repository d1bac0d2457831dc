"""The demo mailbox (staff only): the mail's text, its HTML as sent, and its attachments."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.app import create_app
from service.config import MunicipalityConfig
from service.keys import DB, DEV_SMTP, JOBS
from service.platform.auth import create_key
from tests.conftest import SOLVER, Api, mail_config, make_secrets, wait_until
from tests.meetings.email_cases import body, intake


@pytest.fixture
async def demo_api(demo_config: MunicipalityConfig, sqlite_url: str) -> AsyncIterator[Api]:
    app = create_app(mail_config(demo_config), make_secrets(sqlite_url), demo=True,
                     solver=SOLVER)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        async with app[DB].write() as session:
            _, key = await create_key(session, demo_config.municipality.id, "t", "intake")
        await app[JOBS].wait_idle()
        yield Api(client=client, keys={"intake": key})
    finally:
        await client.close()


async def test_mailbox_shows_html_and_attachments_to_staff_only(demo_api: Api) -> None:
    await intake(demo_api, body("d1"))
    sink = demo_api.client.app[DEV_SMTP].sink
    await wait_until(lambda: any("vælg et tidspunkt" in m.subject for m in sink.messages),
                     what="the invitation in the demo mailbox")
    mail = next(m for m in sink.messages if "vælg et tidspunkt" in m.subject)
    key = demo_api.keys["intake"]
    page = await demo_api.client.get(f"/demo/mailbox?key={key}&nr={mail.number}")
    assert page.status == 200
    assert f"/demo/mailbox/{mail.number}/html" in await page.text()
    html = await demo_api.client.get(f"/demo/mailbox/{mail.number}/html")  # cookie from above
    assert html.status == 200 and "sandbox" in html.headers["Content-Security-Policy"]
    assert "Mads Madsen" in await html.text()
    assert (await demo_api.client.get("/demo/mailbox/999/bilag/1")).status == 404
    demo_api.client.session.cookie_jar.clear()
    assert (await demo_api.client.get(f"/demo/mailbox/{mail.number}/html")).status == 401


async def test_home_page_links_to_what_exists(demo_api: Api) -> None:
    resp = await demo_api.client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    text = await resp.text()
    for link in ("/api/openapi.json", "/healthz", "/demo/mailbox"):
        assert f'href="{link}"' in text, link
