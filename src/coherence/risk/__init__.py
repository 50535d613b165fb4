"""Risk: the register, failure rates learned from history and Monte Carlo availability."""
