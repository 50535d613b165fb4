"""After-action reviews: findings, proposed playbook changes and playbook review dates."""
