"""Command line: python -m app {migrate, seed-demo, create-user}."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys

from app.settings import ROOT


def migrate() -> int:
    """Schema migrations, then the reference data every school needs (idempotent)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PICCOLO_CONF": "piccolo_conf"}
    piccolo = [sys.executable, "-c", "from piccolo.main import main; main()"]
    code = subprocess.call(
        [*piccolo, "migrations", "forwards", "all"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL if os.environ.get("QUIET") else None,
    )
    if code == 0:
        from app.tickets.types.defaults import ensure_default_types

        created = asyncio.run(ensure_default_types())
        if created and not os.environ.get("QUIET"):
            print(f"added {created} default ticket types")
        from app.approvals.workflows import ensure_refund_workflow

        if asyncio.run(ensure_refund_workflow()) and not os.environ.get("QUIET"):
            print("added the refund approval workflow")
        from app.assignment.services import ensure_default_settings

        asyncio.run(ensure_default_settings())  # one automatic-assignment setting per type
        from app.sla.policies import ensure_default_policies

        asyncio.run(ensure_default_policies())  # SLA targets per type × priority, paused statuses
        from app.calendars.defaults import ensure_default_calendar

        asyncio.run(ensure_default_calendar())  # school hours "服务时间" with the public holidays
    return code


async def _create_user(args: argparse.Namespace) -> int:
    from app.accounts.services import create_user
    from app.core.errors import ValidationFailed
    from app.core.i18n import set_locale

    set_locale("en")
    try:
        user_id = await create_user(
            username=args.username,
            password=args.password,
            role=args.role,
            display_name=args.display_name or args.username,
            email=args.email or "",
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            print(f"error: {error.field}: {error.message}", file=sys.stderr)
        return 2
    print(f"created user {args.username} (id {user_id}, role {args.role})")
    return 0


async def _seed_demo(args: argparse.Namespace) -> int:
    from app.demo.seed import seed_demo

    counts = await seed_demo(force=args.force)
    if not counts:
        print("demo data already loaded; nothing to do")
    else:
        print("demo data loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description="Shuyuan administration")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    seed = sub.add_parser("seed-demo", help="load the demo school once")
    seed.add_argument("--force", action="store_true")
    user = sub.add_parser("create-user", help="create a staff user")
    user.add_argument("--username", required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--role", required=True)
    user.add_argument("--display-name", default="")
    user.add_argument("--email", default="")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        return migrate()
    runner = {"create-user": _create_user, "seed-demo": _seed_demo}[args.command]
    from app.wiring import wire

    wire()
    return asyncio.run(runner(args))


if __name__ == "__main__":
    raise SystemExit(main())
