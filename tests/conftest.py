"""Shared pytest configuration: hypothesis profile sized for CI (2 cores)."""

from hypothesis import HealthCheck, settings

settings.register_profile("rfloc", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rfloc")
