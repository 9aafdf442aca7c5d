"""Auto-update: ``podman auto-update`` on a timer, with registry/local policies, rollback and
a history in the store."""
