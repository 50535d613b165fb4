"""Classification scheme, glossary and versioned playbooks."""
