"""Sites, assets and their dependencies, organisations, people and on-call rotations."""
