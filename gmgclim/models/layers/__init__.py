"""gmgclim.models.layers."""
