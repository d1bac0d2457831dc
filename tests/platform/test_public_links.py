"""The municipality's privacy notice and accessibility statement (`[jobcentre] privacy_url`,
`accessibility_url`): linked from the front page, the staff pages' footer and the login —
and not at all when a municipality has set neither (its pages show no empty link)."""

from __future__ import annotations

from service.config import MunicipalityConfig
from tests.support import Staff, make_secrets, start_api, start_staff

PRIVACY = 'href="https://demo.example/persondata"'
STATEMENT = 'href="https://www.was.digst.dk/demo-example"'


async def test_the_front_page_and_the_staff_pages_link_them(staff: Staff) -> None:
    browser = await staff.browser()
    for path in ("/", "/login"):
        _, page = await browser.get(path)
        assert PRIVACY in page and STATEMENT in page, path
        assert "Tilgængelighedserklæring" in page and "Sådan behandler vi personoplysninger" in page
    manager = await staff.login("manager")
    _, page = await manager.get("/dashboard")
    assert PRIVACY in page and STATEMENT in page


async def test_without_them_no_link(demo_config: MunicipalityConfig, sqlite_url: str) -> None:
    config = demo_config.model_copy(update={"jobcentre": demo_config.jobcentre.model_copy(
        update={"privacy_url": None, "accessibility_url": None})})
    async for api in start_api(config, make_secrets(sqlite_url)):
        async for running in start_staff(api):
            browser = await running.browser()
            for path in ("/", "/login"):
                _, page = await browser.get(path)
                assert "Tilgængelighedserklæring" not in page and "personoplysninger" not in page
