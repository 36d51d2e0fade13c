"""Parallel text: reading bitext files and document pairs, sentence splitting and alignment, and the
stages of sentence pairs (normalize, language ID, filters, deduplication). Imports corpus (the config
and the monolingual rules it applies to each side), common, core, schemas."""
