"""The validation catalogue: known results the engines must reproduce (docs/validation.md)."""
