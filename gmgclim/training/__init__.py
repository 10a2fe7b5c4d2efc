"""gmgclim.training."""
