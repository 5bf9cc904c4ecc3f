"""Storage tests: schema migrations of databases created by earlier releases."""
