"""Record visibility: owners, their team leaders and every leader up the chain; admins see all."""

from __future__ import annotations

import asyncio

import pytest
from argon2 import PasswordHasher

from app.accounts import passwords
from app.accounts.services import load_user
from app.core.permissions import can_see_owner, descendant_team_ids, visible_owner_ids
from tables.accounts.tables import Team
from tests.support import make_team, set_leader


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Real argon2 with test-sized cost: at production cost each user takes ~0.2 s here."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


async def _fresh(user):
    """Visibility is cached per CurrentUser; a new request loads a new one."""
    return await load_user(user.id)


async def test_owner_sees_only_own_records(make_user):
    team = await make_team()
    advisor = await make_user(team=team)
    assert await visible_owner_ids(advisor) == {advisor.id}
    assert await can_see_owner(advisor, advisor.id)


async def test_team_leader_sees_members_records(make_user):
    team = await make_team()
    leader = await make_user("supervisor", team=team)
    member = await make_user(team=team)
    await set_leader(team, leader.id)
    leader = await _fresh(leader)
    assert await visible_owner_ids(leader) == {leader.id, member.id}
    assert await can_see_owner(leader, member.id)


async def test_leader_of_a_parent_team_sees_grandchild_team_members(make_user):
    top = await make_team("总部")
    middle = await make_team("华北", parent=top)
    bottom = await make_team("北京一组", parent=middle)
    director = await make_user("supervisor", team=top)
    regional = await make_user("supervisor", team=middle)
    advisor = await make_user(team=bottom)
    await set_leader(top, director.id)
    await set_leader(middle, regional.id)

    director, regional = await _fresh(director), await _fresh(regional)
    assert await can_see_owner(director, advisor.id)
    assert await visible_owner_ids(director) == {director.id, regional.id, advisor.id}
    # Visibility flows down the chain, never up.
    assert await visible_owner_ids(regional) == {regional.id, advisor.id}
    assert not await can_see_owner(regional, director.id)


async def test_a_peer_in_the_same_team_does_not_see_a_colleagues_records(make_user):
    team = await make_team()
    first, second = await make_user(team=team), await make_user(team=team)
    assert not await can_see_owner(first, second.id)
    assert not await can_see_owner(second, first.id)


async def test_leader_of_another_team_does_not_see_this_team(make_user):
    ours, theirs = await make_team(), await make_team()
    other_leader = await make_user("supervisor", team=theirs)
    member = await make_user(team=ours)
    await set_leader(theirs, other_leader.id)
    assert not await can_see_owner(await _fresh(other_leader), member.id)


async def test_admin_sees_everything(make_user):
    admin = await make_user("admin")
    someone = await make_user()
    assert await visible_owner_ids(admin) is None
    assert await can_see_owner(admin, someone.id)
    assert await can_see_owner(admin, None)


async def test_unowned_records_are_not_owner_visible_to_non_admins(make_user):
    advisor = await make_user()
    assert not await can_see_owner(advisor, None)


async def test_a_cycle_in_team_parents_does_not_hang(make_user):
    a = await make_team("A")
    b = await make_team("B", parent=a)
    c = await make_team("C", parent=b)
    await Team.update({Team.parent: c}).where(Team.id == a)  # A -> C -> B -> A
    leader = await make_user("supervisor", team=a)
    in_c = await make_user(team=c)
    await set_leader(b, leader.id)
    visible = await asyncio.wait_for(visible_owner_ids(await _fresh(leader)), timeout=5)
    assert visible == {leader.id, in_c.id}


def test_descendant_team_ids_terminates_on_a_self_parent():
    teams = [{"id": 1, "parent": 1}, {"id": 2, "parent": 1}, {"id": 3, "parent": None}]
    assert descendant_team_ids(teams, {1}) == {1, 2}
