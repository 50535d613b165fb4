"""Containment: change records for isolation actions, two-person approval and the gate."""
