"""A run's lifecycle: claiming its output dir, resuming from checkpoints, its record, its signals, a sweep's outcome."""
