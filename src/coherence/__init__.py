"""Coherence: emergency response coordination for critical quantum infrastructure."""

__version__ = "0.1.0"
