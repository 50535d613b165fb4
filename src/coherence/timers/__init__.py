"""Durable timers: escalations, deadlines and reminders that survive a restart."""
