"""Deterministic, realistic demo data (see ``generator``) built from a hand-written topic catalogue."""
