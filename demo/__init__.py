"""`make run`: the embedded Temporal dev server, a worker and a stream of demo leads."""
