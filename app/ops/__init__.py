"""Running it: the health probes and the Prometheus figures."""
