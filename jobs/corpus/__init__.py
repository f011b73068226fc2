"""Corpus pipeline: posts (BigQuery) -> clean_posts -> shards -> workers -> candidates (Firestore). See docs/corpus-pipeline.md."""
