"""Watchful access: every read of incident data recorded, unusual reading raised as a signal."""
