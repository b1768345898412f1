import pytest


def pytest_configure(config: pytest.Config) -> None:
    # The campaign's tests run whole simulated sessions (seconds to a minute each file).
    config.addinivalue_line("markers", "e2e: whole-system tests (simulated or real)")
