"""Evidence: content-addressed items with a chain of custody in the ledger."""
