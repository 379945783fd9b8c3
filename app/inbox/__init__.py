"""The inbound side: what a received text is, the writers that store it before the webhook
answers, and the spool that stands in for the inbox while the database is away."""
