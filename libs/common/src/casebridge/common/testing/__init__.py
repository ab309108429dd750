"""Test support shared by every service: real servers, migrated databases, signed tokens."""
