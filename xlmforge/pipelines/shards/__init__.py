"""The shard build's config and stages: find the corpus files, scan them, train the vocabulary, split,
decontaminate, encode, write Arrow and WebDataset shards, report, write the manifest. Imports common,
core, schemas: the corpus build is read through its files, never its code."""
