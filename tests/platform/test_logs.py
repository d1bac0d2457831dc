"""Logs never carry a CPR number, an employer's link token or a query string (API keys)."""

from __future__ import annotations

import logging

import pytest

from service.platform.logs import CprMaskingFilter


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
