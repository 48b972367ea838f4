"""Fees, edge and sizing: the one place where the economics of a trade are computed."""
