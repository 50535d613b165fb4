"""Exercises and drills: scenarios with timed injects on a simulated clock, scored."""
