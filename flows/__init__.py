"""xlmforge flows."""
