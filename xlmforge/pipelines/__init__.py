"""The Beam jobs: stage packages hold composite transforms, `jobs` puts them together and runs them.

    jobs     the corpus build and the shard build, each one Beam job with its driver
    corpus   the corpus config, the plan of what to read, input lines, and the monolingual stages
    bitext   parallel text: bitext files, document pairs, sentence alignment, the pair stages
    shards   the shard build's config and stages: scan, vocabulary, splits, encode, shard files, manifest
    common   the plumbing of every stage: parts (Arrow files of records), spills, the
             output layout, the ledger, record ids, comparison keys, Beam options

What each may import besides core and schemas: common nothing else; corpus common; bitext corpus
and common (it reads the corpus config and applies the monolingual rules to each side); shards
common only (it reads the corpus build's files, never its code); jobs all of them. Nothing here
imports flows, cli or training.
"""
