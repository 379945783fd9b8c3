"""Live events: the in-process bus, its PostgreSQL relay between processes, the dashboards' event
stream and who is looking at which case."""
