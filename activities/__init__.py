"""Everything that touches the world: rules loading, rep assignment, notification, the ledger."""
