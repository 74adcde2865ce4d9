"""Offline tools, apart from the request-time use cases in ``matcher.services``: the demo seed, the
evaluation harness and its datasets, and the benchmarks. The CLI calls them; the API never does."""
