"""Who is who in Slack comes from the municipality's configuration: consultants'
`slack_user_id`, and `[[slack.staff]]` for intake staff and managers, validated on load."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import ConfigError, MunicipalityConfig, load_config
from service.slack.people import SlackPeople
from tests.support import ROOT

STAFF = '''
[[slack.staff]]
name = "Ida Visitator"
slack_user_id = "{user}"
role = "{role}"
'''


def with_staff(tmp_path: Path, user: str, role: str) -> Path:
    path = tmp_path / "m.toml"
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text[:text.index("[[slack.staff]]")] + STAFF.format(user=user, role=role)
    path.write_text(text, encoding="utf-8")
    return path


def test_slack_users_are_principals(demo_config: MunicipalityConfig) -> None:
    people = SlackPeople(demo_config)
    anna = people.principal("U0DEMO001")
    assert anna is not None and (anna.role, anna.consultant_key) == ("consultant", "anna")
    manager = people.principal("U0DEMOMGR")
    assert manager is not None and manager.role == "manager"
    assert manager.consultant_key is None
    assert people.principal("U0NOBODY") is None
    assert people.slack_id_of("bo") == "U0DEMO002"


@pytest.mark.parametrize(("user", "role", "message"), [
    # which entry, and where the user was named first
    ("U0DEMO001", "intake", "slack.staff[0].slack_user_id: Slack user U0DEMO001 is already "
                            "named by consultants[0].slack_user_id"),
    ("not-an-id", "intake", "slack.staff.0.slack_user_id"),
    ("U0NEW1", "consultant", "slack.staff.0.role"),
])
def test_bad_slack_staff_name_the_key(tmp_path: Path, user: str, role: str,
                                      message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(with_staff(tmp_path, user, role))
    assert message in str(raised.value)


def test_a_valid_staff_entry_loads(tmp_path: Path) -> None:
    assert load_config(with_staff(tmp_path, "U0NEW1", "intake")).slack.staff[0].name == \
        "Ida Visitator"
