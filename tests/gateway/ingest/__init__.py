"""Ingest, storage, registry and command-queue tests: real TCP, real SQLite files, real crypto."""
