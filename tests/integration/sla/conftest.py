import pytest

from app.sla.policies import ensure_default_policies
from app.tickets.types.defaults import ensure_default_types


@pytest.fixture(autouse=True)
async def default_types_and_policies():
    """The six seeded ticket types and their seeded SLA policies (each test starts from empty tables)."""
    await ensure_default_types()
    await ensure_default_policies()
