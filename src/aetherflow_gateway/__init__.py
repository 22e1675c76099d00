"""AetherFlow API Gateway: the HTTP entrypoint of the AetherFlow data platform."""

__version__ = "0.1.0"
