"""Milkbot's private trading daemon: ingestion, model, risk, order manager, ledger, simulator, CLI."""

__version__ = "0.1.0"
