"""settlement: bracket semantics (brackets), rule-text checks (rules), event climate days (days),
realized P&L at settlement (ledger)."""
