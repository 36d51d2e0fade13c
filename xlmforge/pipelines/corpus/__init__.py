"""The corpus build's config, the plan of what to read and the reading of input lines, and the
monolingual stages: read, normalize, exact and near deduplication, language identification, quality
filters, write. Imports common, core, schemas."""
