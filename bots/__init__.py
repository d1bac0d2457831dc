"""Adapters that deliver messages: email (aiosmtplib) and Slack (slack-bolt), and templates."""
