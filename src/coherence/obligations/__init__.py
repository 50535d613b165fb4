"""Regulatory obligations: which regimes an incident triggers, their clocks and their reports."""
