"""xlmforge: multilingual text to training-ready shards and cross-lingual (XLM) pretraining.

The layers, each importing only the ones below it (tests/test_layers.py keeps it so):

    cli        the `xlmforge` command line, its console output, the demo
    flows      Prefect flows: orchestration, caching by content, artifacts, schedules
    pipelines  the Beam jobs: the corpus build and the shard build
    training   torch: the XLM model, objectives, loader, loop, checkpoints, evaluation, export
    core       what every layer shares: the configuration base, storage, languages, scripts, sampling
    schemas    pyarrow schemas of records and shards, and the manifest: the contract between the layers

pipelines and training stand side by side: neither imports the other, they meet in the shards and
their manifest (schemas).
"""
