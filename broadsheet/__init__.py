"""Broadsheet: a self-hosted, AI-assisted news aggregator."""

__version__ = "0.1.0"
