"""Small shared building blocks with no knowledge of cases, texts or routes."""
