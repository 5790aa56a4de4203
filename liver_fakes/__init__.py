"""Test doubles for the services liver talks to (no network)."""
