"""Accounts: users, login with throttling, password changes, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from app.accounts import passwords
from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, Throttled, ValidationFailed
from app.core.i18n import gettext as _
from app.core.permissions import ROLES, CurrentUser
from app.core.prepared import Prepared
from app.core.redis import get_redis
from app.settings import get_settings
from tables.accounts.tables import ApiToken, Campus, Team, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "sy_"
USER_AUDIT_FIELDS = ("username", "display_name", "email", "phone", "role", "campus", "team", "is_active")


def to_current_user(row: dict) -> CurrentUser:
    return CurrentUser(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        team_id=row["team"],
        campus_id=row["campus"],
        locale=row.get("locale") or "",
    )


_USER_COLUMNS = (User.id, User.username, User.display_name, User.role, User.team, User.campus, User.locale)


_ACTIVE_USER = Prepared(
    lambda user_id: User.select(*_USER_COLUMNS).where((User.id == user_id) & User.is_active.eq(True)).first(), 1
)


async def load_user(user_id: int) -> CurrentUser | None:
    row = await _ACTIVE_USER.run(user_id)
    return to_current_user(row) if row else None


def _password_errors(field: str, password: str) -> list[FieldError]:
    if len(password) < MIN_PASSWORD:
        return [FieldError(field, "Use at least 8 characters.")]
    if password.isdigit() or password.isalpha():
        return [FieldError(field, "Mix letters with digits or symbols.")]
    return []


async def create_user(
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    campus_id: int | None = None,
    team_id: int | None = None,
    actor_id: int | None = None,
) -> int:
    username = username.strip()
    errors: list[FieldError] = []
    if not USERNAME_RE.match(username):
        errors.append(FieldError("username", "3–64 letters, digits, dots, dashes or underscores."))
    elif await User.exists().where(User.username == username):
        errors.append(FieldError("username", "This username is already taken."))
    errors += _password_errors("password", password)
    if role not in ROLES:
        errors.append(FieldError("role", "Unknown role."))
    if campus_id is not None and not await Campus.exists().where(Campus.id == campus_id):
        errors.append(FieldError("campus", "Unknown campus."))
    if team_id is not None and not await Team.exists().where(Team.id == team_id):
        errors.append(FieldError("team", "Unknown team."))
    if errors:
        raise ValidationFailed(errors)
    values = dict(
        username=username,
        display_name=display_name.strip() or username,
        email=email.strip(),
        phone=phone.strip(),
        role=role,
        campus=campus_id,
        team=team_id,
        is_active=True,
    )
    async with UnitOfWork():
        rows = await User.insert(User(password_hash=passwords.hash_password(password), **values)).returning(User.id)
        user_id = rows[0]["id"]
        await audit.record(
            actor_id=actor_id,
            action="create",
            entity_type="user",
            entity_id=user_id,
            changes=audit.snapshot(values, USER_AUDIT_FIELDS),
        )
    return user_id


def _fail_keys(username: str, ip: str) -> tuple[str, str]:
    return (f"shuyuan:login-fail:user:{username.lower()}", f"shuyuan:login-fail:ip:{ip}")


async def _check_throttle(username: str, ip: str) -> None:
    cfg = get_settings().auth
    redis = get_redis()
    user_key, ip_key = _fail_keys(username, ip)
    user_fails, ip_fails = await redis.mget(user_key, ip_key)
    # The IP limit is looser: a school shares one address among many staff.
    if int(user_fails or 0) >= cfg.login_max_failures or int(ip_fails or 0) >= cfg.login_max_failures * 4:
        ttl = max(await redis.ttl(user_key), await redis.ttl(ip_key), 60)
        raise Throttled(_("Too many failed attempts. Try again in %(minutes)s minutes.", minutes=(ttl + 59) // 60))


async def _record_failure(username: str, ip: str) -> None:
    window = get_settings().auth.login_window_seconds
    async with get_redis().pipeline(transaction=True) as pipe:
        for key in _fail_keys(username, ip):
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        await pipe.execute()


class WrongCredentials(ValidationFailed):
    """The login form shows it beside the password (422); the API answers 401 with the same body."""


async def authenticate(username: str, password: str, ip: str = "") -> CurrentUser:
    """Check a username and password; raises ValidationFailed or Throttled."""
    username = (username or "").strip()
    errors = []
    if not username:
        errors.append(FieldError("username", "Enter your username."))
    if not password:
        errors.append(FieldError("password", "Enter your password."))
    if errors:
        raise ValidationFailed(errors)
    await _check_throttle(username, ip)
    row = await User.select(*_USER_COLUMNS, User.password_hash, User.is_active).where(User.username == username).first()
    ok = passwords.verify_password(row["password_hash"] if row else None, password)
    if not ok or not row["is_active"]:
        await _record_failure(username, ip)
        raise WrongCredentials(
            [FieldError("password", "Wrong username or password.")],
            detail="Wrong username or password.",
        )
    await get_redis().delete(_fail_keys(username, ip)[0])
    if passwords.needs_rehash(row["password_hash"]):
        await User.update({User.password_hash: passwords.hash_password(password)}).where(User.id == row["id"])
    return to_current_user(row)


async def change_password(user: CurrentUser, current: str, new: str, confirm: str, clock: Clock = system_clock) -> None:
    row = await User.select(User.password_hash).where(User.id == user.id).first()
    errors: list[FieldError] = []
    if not passwords.verify_password(row["password_hash"] if row else None, current or ""):
        errors.append(FieldError("current_password", "Your current password is not correct."))
    errors += _password_errors("new_password", new or "")
    if (new or "") != (confirm or ""):
        errors.append(FieldError("confirm_password", "The two new passwords do not match."))
    if not errors and new == current:
        errors.append(FieldError("new_password", "Choose a password different from the current one."))
    if errors:
        raise ValidationFailed(errors)
    async with UnitOfWork():
        await User.update(
            {User.password_hash: passwords.hash_password(new), User.password_changed_at: clock.now()}
        ).where(User.id == user.id)
        await audit.record(
            actor_id=user.id,
            action="update",
            entity_type="user",
            entity_id=user.id,
            changes={"password": ["***", "***"]},
        )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_api_token(user: CurrentUser, name: str = "") -> str:
    """A new bearer token; only its hash is stored, so this is the one time it can be shown."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with UnitOfWork():
        rows = await ApiToken.insert(
            ApiToken(user=user.id, name=name[:100], token_hash=_token_hash(token), prefix=token[:10])
        ).returning(ApiToken.id)
        await audit.record(
            actor_id=user.id,
            action="create",
            entity_type="api_token",
            entity_id=rows[0]["id"],
            changes={"name": [None, name[:100]], "prefix": [None, token[:10]]},
        )
    return token


_LIVE_TOKEN = Prepared(
    lambda token_hash: (
        ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.last_used_at)
        .where((ApiToken.token_hash == token_hash) & ApiToken.revoked_at.is_null())
        .first()
    ),
    1,
)


async def user_for_token(token: str, clock: Clock = system_clock) -> CurrentUser | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = await _LIVE_TOKEN.run(_token_hash(token))
    if not row:
        return None
    now = clock.now()
    # "Last used" to the minute is enough, and spares a write on every API request.
    if row["last_used_at"] is None or now - row["last_used_at"] > timedelta(minutes=1):
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    return await load_user(row["user"])


async def revoke_api_token(user: CurrentUser, token_id: int, clock: Clock = system_clock) -> bool:
    async with UnitOfWork():
        rows = (
            await ApiToken.update({ApiToken.revoked_at: clock.now()})
            .where((ApiToken.id == token_id) & (ApiToken.user == user.id) & ApiToken.revoked_at.is_null())
            .returning(ApiToken.id)
        )
        if rows:
            await audit.record(
                actor_id=user.id, action="delete", entity_type="api_token", entity_id=token_id, changes={}
            )
    return bool(rows)


async def set_locale(user: CurrentUser, locale: str) -> None:
    if locale not in get_settings().locales:
        raise ValidationFailed.one("locale", "Unknown language.")
    await User.update({User.locale: locale}).where(User.id == user.id)
