"""Plugin host and contract. Built-in plugins use exactly what third parties use."""
