"""Operator alerts: a persisted outbox, an hourly budget with digests, and a Telegram client."""
