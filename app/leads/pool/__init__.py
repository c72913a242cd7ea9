"""The public pool (公海): claim and release, reclaim and distribution rules, settings."""
