"""Logs never carry a CPR number, an employer's link token or a query string (API keys)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from service.platform.logs import CprMaskingFilter
from tests.support import Api


def test_log_filter_masks_cpr() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "citizen %s called", ("0101901234",),
                               None)
    CprMaskingFilter().filter(record)
    assert record.getMessage() == "citizen 010190-XXXX called"


def test_access_log_hides_link_tokens_and_query_strings(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    from unittest.mock import Mock

    from service.platform.logs import AccessLogger

    logger = logging.getLogger("test.access")
    access = AccessLogger(logger, "")
    request = Mock(path="/m/eyJtIjo1fQ.signature", remote="127.0.0.1", method="GET",
                   query_string="key=fh_secret")
    with caplog.at_level(logging.INFO, logger="test.access"):
        access.log(request, Mock(status=200), 0.01)
        access.log(Mock(path="/demo/mailbox", remote="127.0.0.1", method="GET",
                        query_string="key=fh_secret"), Mock(status=200), 0.01)
    assert "/m/…" in caplog.text and "eyJtIjo1fQ" not in caplog.text
    assert "fh_secret" not in caplog.text and "/demo/mailbox" in caplog.text


def _masked(text: str) -> str:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (text,), None)
    CprMaskingFilter().filter(record)
    return record.getMessage()


@pytest.mark.parametrize(("text", "expected"), [
    ("cpr 0101901234 and 311299-4321.", "cpr 010190-XXXX and 311299-XXXX."),
    ("cpr=2902801234", "cpr=290280-XXXX"),
    # procrastinate's periodic task: a ten-digit Unix time, not a CPR number
    ("plan[7](timestamp=1796571234)", "plan[7](timestamp=1796571234)"),
    ("plan[7](timestamp=1712011234)", "plan[7](timestamp=1712011234)"),
    ("took 1712011234.25 s", "took 1712011234.25 s"),  # a decimal number
    ("3201901234 0113901234 0000001234", "3201901234 0113901234 0000001234"),  # no such day
    ("id 101019012345 and 90101901234", "id 101019012345 and 90101901234"),  # longer runs
])
def test_only_what_can_be_a_cpr_number_is_masked(text: str, expected: str) -> None:
    assert _masked(text) == expected


SECRET = "SeCrEtToKeN_0123456789abcdef"


async def test_every_link_token_path_is_shortened_in_the_access_log(
        sqlite_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """Every route of the app whose path holds a token or a code (the employer's link, the
    citizen's link and its short code, the calendar feed) is logged without it — the list of
    such prefixes is checked against the app's routes, so a new one cannot be forgotten."""
    from unittest.mock import Mock

    from service.platform.logs import TOKEN_PATH_PREFIXES, AccessLogger, safe_path

    tokened: list[str] = []
    for resource in sqlite_api.client.app.router.resources():
        info = resource.get_info()
        formatter = info.get("formatter")
        if not formatter or not any(f"{{{name}" in formatter for name in ("token", "code")):
            continue
        names = [part.split("}")[0].split(":")[0] for part in formatter.split("{")[1:]]
        path = formatter.format(**{name: SECRET for name in names})
        tokened.append(path)
        assert SECRET not in safe_path(path), path
        assert "…" in safe_path(path)
    prefixes = {p for p in TOKEN_PATH_PREFIXES if any(t.startswith(p) for t in tokened)}
    assert prefixes == set(TOKEN_PATH_PREFIXES), tokened  # every prefix is a route's
    assert {"/m/…", "/samtale/…", "/samtale/k/…", "/calendar/….ics"} <= {
        safe_path(t) for t in tokened}
    assert safe_path(f"/m/{SECRET}/confirm") == "/m/…/confirm"
    assert safe_path("/calendar/new") == "/calendar/new"

    access = AccessLogger(logging.getLogger("test.access"), "")
    with caplog.at_level(logging.INFO, logger="test.access"):
        for path in tokened:
            access.log(Mock(path=path, remote="10.0.0.7", method="GET",
                            headers={"Host": "herning.fasthold.example"}),
                       Mock(status=200), 0.01)
        access.log(Mock(path="/", remote="10.0.0.7", method="GET",
                        headers={"Host": "bad\nhost"}), Mock(status=200), 0.01)
    assert SECRET not in caplog.text
    assert '10.0.0.7 herning.fasthold.example "GET /samtale/…" 200' in caplog.text
    assert '10.0.0.7 ? "GET /" 200' in caplog.text  # a Host no name can be is not copied


@pytest.fixture
def _levels_put_back() -> Iterator[None]:
    loggers = [logging.getLogger(), logging.getLogger("procrastinate")]
    before = [(logger, logger.level, logger.handlers[:]) for logger in loggers]
    yield
    for logger, level, handlers in before:
        logger.setLevel(level)
        logger.handlers[:] = handlers


@pytest.mark.usefixtures("_levels_put_back")
def test_the_log_level_comes_from_the_environment_and_procrastinate_is_quiet() -> None:
    from service.platform.logs import configure_logging

    procrastinate = logging.getLogger("procrastinate.worker")
    configure_logging(logging.INFO, env={})
    assert logging.getLogger().level == logging.INFO
    assert not procrastinate.isEnabledFor(logging.INFO)  # ~150 lines a minute: not by default
    assert procrastinate.isEnabledFor(logging.WARNING)

    configure_logging(logging.INFO, env={"FASTHOLD_LOG_LEVEL": "debug"})
    assert logging.getLogger().level == logging.DEBUG and procrastinate.isEnabledFor(
        logging.DEBUG)
    configure_logging(logging.INFO, env={"FASTHOLD_LOG_LEVEL": "INFO"})
    assert procrastinate.isEnabledFor(logging.INFO)
    configure_logging(logging.WARNING, env={"FASTHOLD_LOG_LEVEL": "ERROR"})
    assert logging.getLogger().level == logging.ERROR
    assert not procrastinate.isEnabledFor(logging.WARNING)
    configure_logging(logging.INFO, env={"FASTHOLD_LOG_LEVEL": "chatty"})  # not a level
    assert logging.getLogger().level == logging.INFO
