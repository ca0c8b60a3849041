"""PDF operations domain: merge/split/encrypt/... as jobs, the ``options.pdf`` pipeline, signing keys."""
