"""Recovery: restoration planning, verification gates, spares and vendor contracts."""
