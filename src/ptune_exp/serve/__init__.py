"""Serving many exported prompts on one frozen backbone: per-row prompts in one forward (rows.py), the
exports checked against the loaded backbone (registry.py), mixed batches (batch.py), the HTTP server
`ptune-exp-serve` (server.py, litapi.py), mixed `ptune-exp-predict` (offline.py) and the serving
benchmark (bench.py)."""
