from tables.accounts.tables import User


async def test_each_test_starts_with_empty_tables(make_user):
    assert await User.count() == 0
    await make_user("admin")
    assert await User.count() == 1


async def test_previous_test_rows_are_gone():
    assert await User.count() == 0


def test_a_postgres_url_may_name_a_unix_socket_directory():
    from piccolo_conf import postgres_config

    assert postgres_config("postgres://app:p%40ss@db.example:6543/school") == {
        "host": "db.example",
        "port": 6543,
        "user": "app",
        "password": "p@ss",
        "database": "school",
    }
    assert postgres_config("postgresql://app@/school?host=/run/postgresql") == {
        "host": "/run/postgresql",
        "port": 5432,
        "user": "app",
        "password": "",
        "database": "school",
    }
