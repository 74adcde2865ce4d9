"""The inbox and its notifications: items opened and closed from the audit trail (items), their deliveries
by e-mail and webhook from an outbox (delivery), users' preferences and offices' webhooks (settings)."""
