"""The plumbing every stage uses: parts (Arrow files of records, the unit of work between stages),
spilled keys, where a build writes, the ledger, record ids, comparison keys, one-per-key
deduplication and Beam options. Imports core and schemas only."""
