"""SQLite storage: one writer thread, WAL, explicit transactions.

``db`` (the Database wrapper), ``schema`` (ingest tables), ``frames`` (storing one decoded frame),
``keybox`` (device keys sealed at rest), ``retention`` (pruning what is normalised and delivered).
Other packages register their own tables here too (``series``, ``outbox``).
"""
