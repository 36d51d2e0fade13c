"""What every layer shares: the configuration base, storage paths and URLs, languages and their
scripts, temperature sampling. Imports nothing else of xlmforge."""
