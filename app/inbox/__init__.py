"""The inbound side: what a received text is, and the writers that store it before the webhook
answers."""
