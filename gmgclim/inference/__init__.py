"""gmgclim.inference."""
