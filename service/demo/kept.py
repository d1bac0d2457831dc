"""Demo only: where the demo keeps what its local mail sink and fake Slack received, beside
the SQLite file, so a restart shows the same mailbox and Slack page and `--reset` removes them
with the database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from service.platform.db.engine import normalise_url


def _beside(database_url: str, suffix: str) -> Path | None:
    parsed = make_url(normalise_url(database_url))
    if not parsed.drivername.startswith("sqlite") or not parsed.database \
            or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return path.with_name(path.name + suffix)


def files_directory(database_url: str, default: Path) -> Path:
    """Where a demo database's API keys and logins are written: beside its SQLite file — so a
    second demo database (a test's) never overwrites the first's, whose printed keys and
    passwords would then open nothing — else `default`."""
    path = _beside(database_url, "")
    return default if path is None else path.parent


def mail_store(database_url: str) -> Path | None:
    """The mail sink's Maildir (None when the database is not a SQLite file)."""
    return _beside(database_url, ".mail")


def slack_store(database_url: str) -> Path | None:
    """The fake Slack workspace's JSON file (None when the database is not a SQLite file)."""
    return _beside(database_url, ".slack.json")
