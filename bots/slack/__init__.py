"""Slack: the outbox's channel sender (Web API), Block Kit builders in Danish, the bolt app's
inbound listeners (behind the `SlackDesk` protocol the service implements), and a local fake
of the Web API for tests and the demo. Imports nothing from `service/`."""
