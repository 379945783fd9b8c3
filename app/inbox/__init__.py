"""The inbox and what stands in for it while the database is away."""
