"""Letters: templates, the outbox, delivery and transport."""
