"""XLM pretraining in torch: config, model, objectives, the streaming loader over shards, the loop,
checkpoints, distributed set-up, evaluation, export to transformers. Imports core and schemas only:
it reads shards through their manifest, never the pipelines' code."""
