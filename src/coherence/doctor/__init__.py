"""`coherence doctor`: checks that a deployment is sound, each with what to fix."""
