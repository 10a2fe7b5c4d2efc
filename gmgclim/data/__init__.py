"""gmgclim.data."""
