"""Backtesting on recorded markets: the recorded tape, its spread and fill models, and the exchange built on them."""
