"""Events: envelope, contracts registry, transactional outbox, relay, consumer runner."""
