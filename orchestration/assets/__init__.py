"""Dagster assets: the raw layer written by ingest (one asset per raw table, monthly
partitions), the municipality reference tables, and the dbt project on top of them."""
