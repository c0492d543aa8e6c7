"""End-to-end jobs shared by the CLI and any service (training, the day-ahead run)."""
