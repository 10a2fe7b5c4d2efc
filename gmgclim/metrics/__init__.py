"""gmgclim.metrics."""
