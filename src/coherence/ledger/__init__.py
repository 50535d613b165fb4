"""Append-only record of every state change."""
