"""Notifications: the outbox, channels behind one interface, and delivery."""
