"""Industry–talent matching: demands posted by enterprises, matched to experts in three engagement modes."""

__version__ = "0.1.0"
