"""gmgclim.plotting."""
