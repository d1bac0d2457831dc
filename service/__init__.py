"""fasthold service: HTTP API, web pages, storage, orchestration, background jobs and CLI."""
