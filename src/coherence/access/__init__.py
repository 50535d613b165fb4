"""Who is calling: API tokens and the permission checks at the edges."""
