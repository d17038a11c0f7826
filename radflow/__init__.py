"""RadFlow: operations system for hospital imaging departments."""

__version__ = "0.1.0"
