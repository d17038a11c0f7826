"""Plain-Python heart of RadFlow: no Django import allowed here (enforced by ruff)."""
