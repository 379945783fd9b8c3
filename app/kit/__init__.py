"""Shared infrastructure every domain may use: settings, database, errors, logs, middleware,
the runtime. Nothing here imports a domain."""
