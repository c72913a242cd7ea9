"""Accounts services: user creation rules, login with throttling, passwords, API tokens, sessions."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.accounts import passwords, services, sessions
from app.core.errors import Throttled, ValidationFailed
from app.core.redis import get_redis
from tables.accounts.tables import ApiToken, User
from tests.support import PASSWORD, make_campus, make_team


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Real argon2 with test-sized cost: at production cost each user takes ~0.2 s here."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- create_user ---------------------------------------------------------------------------


async def _create(**overrides) -> int:
    values = {"username": "wang.fang", "password": PASSWORD, "role": "advisor"}
    return await services.create_user(**{**values, **overrides})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "a b"}, "username"),
        ({"username": "ab"}, "username"),
        ({"username": "王芳"}, "username"),
        ({"password": "abc123"}, "password"),  # too short
        ({"password": "12345678"}, "password"),  # digits only
        ({"password": "abcdefgh"}, "password"),  # letters only
        ({"role": "janitor"}, "role"),
        ({"campus_id": 999_999}, "campus"),
        ({"team_id": 999_999}, "team"),
    ],
)
async def test_create_user_rejects_bad_input_naming_the_field(overrides, field):
    with pytest.raises(ValidationFailed) as caught:
        await _create(**overrides)
    assert [e.field for e in caught.value.errors] == [field]
    assert await User.count() == 0


async def test_create_user_reports_every_bad_field_at_once():
    with pytest.raises(ValidationFailed) as caught:
        await _create(username="x", password="short", role="nobody", campus_id=424242, team_id=424242)
    assert set(caught.value.by_field()) == {"username", "password", "role", "campus", "team"}


async def test_create_user_refuses_a_taken_username():
    await _create()
    with pytest.raises(ValidationFailed) as caught:
        await _create(password="another-pass-9")
    assert caught.value.by_field() == {"username": "This username is already taken."}
    assert await User.count() == 1


async def test_create_user_stores_a_hash_and_the_references():
    campus, team = await make_campus(), await make_team()
    user_id = await _create(username="  li.lei  ", campus_id=campus, team_id=team, display_name="")
    row = await User.select().where(User.id == user_id).first()
    assert row["username"] == "li.lei"
    assert row["display_name"] == "li.lei"  # defaults to the username
    assert (row["campus"], row["team"], row["role"]) == (campus, team, "advisor")
    assert PASSWORD not in row["password_hash"] and row["password_hash"].startswith("$argon2")


# --- authenticate ---------------------------------------------------------------------------


async def test_authenticate_returns_the_user(make_user):
    user = await make_user("supervisor", display_name="张老师")
    found = await services.authenticate(user.username, PASSWORD, "10.0.0.1")
    assert (found.id, found.role, found.display_name) == (user.id, "supervisor", "张老师")


async def test_wrong_password_and_unknown_user_fail_alike(make_user):
    user = await make_user()
    with pytest.raises(ValidationFailed) as wrong:
        await services.authenticate(user.username, "not-the-password-1")
    with pytest.raises(ValidationFailed) as unknown:
        await services.authenticate("nobody-here", PASSWORD)
    assert wrong.value.detail == unknown.value.detail == "Wrong username or password."
    assert wrong.value.by_field() == unknown.value.by_field() == {"password": "Wrong username or password."}


async def test_authenticate_requires_both_fields():
    with pytest.raises(ValidationFailed) as caught:
        await services.authenticate("  ", "")
    assert set(caught.value.by_field()) == {"username", "password"}


async def test_inactive_user_cannot_log_in(make_user):
    user = await make_user()
    await User.update({User.is_active: False}).where(User.id == user.id)
    with pytest.raises(ValidationFailed):
        await services.authenticate(user.username, PASSWORD)


async def test_five_failures_throttle_even_the_right_password(make_user):
    user = await make_user()
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            await services.authenticate(user.username, "wrong-pass-1", "10.0.0.2")
    with pytest.raises(Throttled) as caught:
        await services.authenticate(user.username, PASSWORD, "10.0.0.2")
    assert caught.value.status_code == 429
    # The per-user counter also holds from another address: the username is what is attacked.
    with pytest.raises(Throttled):
        await services.authenticate(user.username.upper(), PASSWORD, "10.0.0.3")


async def test_a_success_resets_the_per_user_counter(make_user):
    user = await make_user()
    for _ in range(4):
        with pytest.raises(ValidationFailed):
            await services.authenticate(user.username, "wrong-pass-1")
    await services.authenticate(user.username, PASSWORD)
    for _ in range(4):  # 8 failures in the window in total, but only 4 since the success
        with pytest.raises(ValidationFailed):
            await services.authenticate(user.username, "wrong-pass-1")
    assert (await services.authenticate(user.username, PASSWORD)).id == user.id


async def test_failures_of_one_user_do_not_throttle_another(make_user):
    victim, colleague = await make_user(), await make_user()
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            await services.authenticate(victim.username, "wrong-pass-1", "10.0.0.9")
    assert (await services.authenticate(colleague.username, PASSWORD, "10.0.0.9")).id == colleague.id


# --- change_password ------------------------------------------------------------------------


async def test_change_password_rejects_a_wrong_current_password(make_user):
    user = await make_user()
    with pytest.raises(ValidationFailed) as caught:
        await services.change_password(user, "not-it-123", "new-pass-456", "new-pass-456")
    assert set(caught.value.by_field()) == {"current_password"}
    await services.authenticate(user.username, PASSWORD)  # unchanged


async def test_change_password_rejects_a_mismatched_confirmation(make_user):
    user = await make_user()
    with pytest.raises(ValidationFailed) as caught:
        await services.change_password(user, PASSWORD, "new-pass-456", "new-pass-457")
    assert set(caught.value.by_field()) == {"confirm_password"}


async def test_change_password_rejects_a_weak_new_password(make_user):
    user = await make_user()
    with pytest.raises(ValidationFailed) as caught:
        await services.change_password(user, PASSWORD, "12345678", "12345678")
    assert set(caught.value.by_field()) == {"new_password"}


async def test_change_password_rejects_the_same_password(make_user):
    user = await make_user()
    with pytest.raises(ValidationFailed) as caught:
        await services.change_password(user, PASSWORD, PASSWORD, PASSWORD)
    assert caught.value.by_field() == {"new_password": "Choose a password different from the current one."}


async def test_changed_password_replaces_the_old_one(make_user):
    user = await make_user()
    await services.change_password(user, PASSWORD, "brand-new-789", "brand-new-789")
    assert (await services.authenticate(user.username, "brand-new-789")).id == user.id
    with pytest.raises(ValidationFailed):
        await services.authenticate(user.username, PASSWORD)


# --- API tokens -----------------------------------------------------------------------------


async def test_issued_token_identifies_its_user_and_only_its_hash_is_stored(make_user):
    user = await make_user()
    token = await services.issue_api_token(user, "erp")
    assert token.startswith("sy_")
    assert (await services.user_for_token(token)).id == user.id
    row = await ApiToken.select().where(ApiToken.user == user.id).first()
    assert row["name"] == "erp" and row["token_hash"] != token and token not in row["token_hash"]
    assert row["prefix"] == token[:10]
    assert row["last_used_at"] is not None  # user_for_token records the use


@pytest.mark.parametrize("garbage", ["", "sy_", "sy_not-a-real-token", "Bearer x", "sy_" + "a" * 200])
async def test_unknown_tokens_identify_nobody(make_user, garbage):
    user = await make_user()
    await services.issue_api_token(user, "real")
    assert await services.user_for_token(garbage) is None


async def test_revoked_token_identifies_nobody(make_user):
    user = await make_user()
    token = await services.issue_api_token(user, "old")
    token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    assert await services.revoke_api_token(user, token_id) is True
    assert await services.user_for_token(token) is None
    assert await services.revoke_api_token(user, token_id) is False  # already revoked


async def test_a_user_cannot_revoke_someone_elses_token(make_user):
    owner, other = await make_user(), await make_user()
    token = await services.issue_api_token(owner, "mine")
    token_id = (await ApiToken.select(ApiToken.id).first())["id"]
    assert await services.revoke_api_token(other, token_id) is False
    assert (await services.user_for_token(token)).id == owner.id


async def test_token_of_a_deactivated_user_identifies_nobody(make_user):
    user = await make_user()
    token = await services.issue_api_token(user, "x")
    await User.update({User.is_active: False}).where(User.id == user.id)
    assert await services.user_for_token(token) is None


# --- sessions -------------------------------------------------------------------------------


async def test_session_start_and_end(make_user):
    user = await make_user()
    session_id = await sessions.start_session(user.id)
    assert await sessions.session_user_id(session_id) == user.id
    await sessions.end_session(session_id)
    assert await sessions.session_user_id(session_id) is None
    assert await get_redis().smembers(f"shuyuan:user-sessions:{user.id}") == set()


async def test_each_login_gets_a_fresh_session_id(make_user):
    user = await make_user()
    first, second = await sessions.start_session(user.id), await sessions.start_session(user.id)
    assert first != second
    assert len(first) >= 40


@pytest.mark.parametrize("session_id", [None, "", "unknown", "x" * 500])
async def test_unknown_session_ids_map_to_nobody(session_id):
    assert await sessions.session_user_id(session_id) is None


async def test_end_other_sessions_keeps_only_the_current_one(make_user):
    user, bystander = await make_user(), await make_user()
    current = await sessions.start_session(user.id)
    others = [await sessions.start_session(user.id) for _ in range(2)]
    unrelated = await sessions.start_session(bystander.id)
    assert await sessions.end_other_sessions(user.id, keep=current) == 2
    assert await sessions.session_user_id(current) == user.id
    assert [await sessions.session_user_id(s) for s in others] == [None, None]
    assert await sessions.session_user_id(unrelated) == bystander.id
