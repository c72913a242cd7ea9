"""One module per kind of record in the recycle bin; each registers itself (app/recycle/registry.py)."""
