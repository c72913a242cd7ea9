from tables.accounts.tables import User


async def test_each_test_starts_with_empty_tables(make_user):
    assert await User.count() == 0
    await make_user("admin")
    assert await User.count() == 1


async def test_previous_test_rows_are_gone():
    assert await User.count() == 0
