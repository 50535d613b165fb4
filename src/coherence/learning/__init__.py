"""People and learning: near misses, the lessons library and partner readiness summaries."""
