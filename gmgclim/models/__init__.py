"""gmgclim.models."""
