"""Dashboard routes."""

from __future__ import annotations

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    """Add the dashboard pages and static files to ``app``."""
