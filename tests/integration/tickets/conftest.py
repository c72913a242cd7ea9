import pytest

from app.tickets.types.defaults import ensure_default_types


@pytest.fixture(autouse=True)
async def default_types():
    """Every ticket test starts with the six seeded ticket types (each test starts from empty tables)."""
    await ensure_default_types()
