"""Use cases: the only layer the API and the CLI call. Each public function is one unit of work."""
