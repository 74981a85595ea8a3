"""Publishing for BI tools: the bi views, Parquet exports, the serving file and PostgreSQL."""
