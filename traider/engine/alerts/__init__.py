"""Alert delivery: Slack and PagerDuty through a durable outbox (`$TRAIDER_HOME/alerts.db`).

`service.AlertService` is the entry point; `config.AlertsConfig` is the `[alerts]` config
section. Nothing is imported here: the config loader needs only `config`, and the SDKs
behind `service` are slow to import.
"""
