"""How the service reaches Slack: from the environment (`FASTHOLD_SLACK_*`), or — in the demo
without a workspace — the local fake Web API the demo starts."""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass, replace

from service.config import MunicipalityConfig, Secrets

# The demo's intake channel (on the fake Web API) when FASTHOLD_SLACK_INTAKE_CHANNEL is unset.
DEMO_INTAKE_CHANNEL = "C0DEMOINTAKE"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None
    signing_secret: str | None
    api_url: str | None
    intake_channel: str | None

    @classmethod
    def from_secrets(cls, secrets: Secrets) -> SlackSettings:
        return cls(bot_token=secrets.slack_bot_token,
                   signing_secret=secrets.slack_signing_secret,
                   api_url=secrets.slack_api_url,
                   intake_channel=secrets.slack_intake_channel)

    @property
    def sending(self) -> bool:
        """A bot token: messages are delivered (without one they wait in the outbox)."""
        return bool(self.bot_token)

    @property
    def receiving(self) -> bool:
        """A signing secret: `/slack/events` verifies and answers Slack's requests."""
        return bool(self.signing_secret)

    def on_fake(self, token: str, api_url: str) -> SlackSettings:
        """The demo's settings on the local fake Web API (a signing secret made up for this
        process unless one is configured: the demo page signs with it)."""
        return replace(self, bot_token=token, api_url=api_url,
                       signing_secret=self.signing_secret or random_secrets.token_hex(16),
                       intake_channel=self.intake_channel or DEMO_INTAKE_CHANNEL)


def workspace_users(config: MunicipalityConfig) -> set[str]:
    """Every Slack user id the configuration names (the demo's fake workspace has them)."""
    return {c.slack_user_id for c in config.consultants if c.slack_user_id} | {
        s.slack_user_id for s in config.slack.staff}
