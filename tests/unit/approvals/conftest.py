import pytest


@pytest.fixture(autouse=True)
async def default_types_and_refund_workflow():
    """The six ticket types and the seeded refund workflow, as `python -m app migrate` leaves them.
    (Imported here, not at the top: conftest files load before tests/conftest.py sets the database.)"""
    from tests.unit.approvals.school import seeded_workflows

    await seeded_workflows()
