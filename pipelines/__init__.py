"""xlmforge pipelines."""
