"""The two Beam jobs, each a composite transform and the driver that plans, runs and checks it:
`corpus` (sources to segments, sentence pairs, rejects and a ledger) and `shards` (corpus builds to
vocabulary, shards and manifest). Imports every pipelines package, core and schemas."""
