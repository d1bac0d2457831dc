"""The Slack bot's side in the service: who a Slack user is, what the domain tells consultants
and the intake channel, the actions behind the bot's buttons and commands, the Home tab, and
the `/slack/events` route."""
