"""The record and shard schemas (pyarrow) and the manifest, versioned: the contract between the
pipelines that write them and the training that reads them. Imports nothing else of xlmforge."""
