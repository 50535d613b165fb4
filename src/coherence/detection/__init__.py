"""Detection: telemetry in, playbook rules evaluated, signals de-duplicated into incidents."""
