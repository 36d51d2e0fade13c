"""xlmforge schemas."""
