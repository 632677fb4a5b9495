"""Fixtures for the alerts tests: the loopback receiver and service factory live in
`alerts_loopback.py` (importable by the test modules, unlike a conftest)."""

from alerts_loopback import make_service, receiver, tls_cert

__all__ = ["make_service", "receiver", "tls_cert"]
