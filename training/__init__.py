"""xlmforge training."""
