import pytest


@pytest.fixture(autouse=True)
async def default_types_and_refund_workflow():
    """The six ticket types and the seeded refund workflow (imported late: see tests/unit/approvals/conftest.py)."""
    from tests.unit.approvals.school import seeded_workflows

    await seeded_workflows()
