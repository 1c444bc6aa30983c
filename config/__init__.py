"""Configuration: the practice profile, environment settings and logging."""
