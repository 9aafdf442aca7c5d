"""Automation hooks: rules on bus events that run commands, post webhooks, call bridge
methods and publish events. See docs/automation.md."""
