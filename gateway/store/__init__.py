"""SQLite storage: one writer thread, WAL, explicit transactions."""
