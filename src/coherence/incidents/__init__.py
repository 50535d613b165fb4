"""Incidents: lifecycle, roles, tasks, timeline, escalation and metrics."""
