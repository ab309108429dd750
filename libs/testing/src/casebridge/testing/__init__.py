"""Test support shared by every service: real servers, migrated databases, signed tokens,
and `poll` (casebridge.testing.poll), the one way a test waits."""
