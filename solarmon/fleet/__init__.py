"""The fleet: many sites pushing into one central time-series store (docs/FLEET.md)."""
