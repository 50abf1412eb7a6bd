"""The billing commands of ``python -m lkk_app.cli``.

    billing sync          one pass of the sync, a progress line per page
    billing status        cursors, the last pass per kind, the copy, the delivery queue
    billing demo-reset    restore the demo billing's data (demo adapter only)
    binding-code --contract Д-1001
                          a one-time «код привязки» for the contract's curator (30 days)

Exit codes: 0 done, 1 refused (unknown contract, not the demo billing, billing
unavailable), 2 configuration problem.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from sqlmodel import Session

from lkk_app.i18n import label, t


def _setup() -> tuple[Any, Any] | None:
    from lkk_app import db
    from lkk_app.settings import SettingsError, get_settings

    try:
        settings = get_settings()
    except SettingsError as exc:
        print(t("cli.settings_error", message=str(exc)), file=sys.stderr)
        return None
    return settings, db.get_engine()


def _when(value: Any) -> str:
    from lkk_app.core.formatting import local_datetime

    return local_datetime(value) if value is not None else t("billing_cli.never")


async def _sync(settings: Any, engine: Any) -> int:
    from lkk_app.billing import get_gateway, sync

    gateway = get_gateway(settings, engine=engine)

    def progress(kind: Any, received: int) -> None:
        print(t("billing_cli.progress", kind=label(kind), received=received), flush=True)

    try:
        result = await sync.sync_all(engine, gateway, progress=progress)
    finally:
        await gateway.aclose()
    if not result.ok:
        print(t("billing_cli.sync_failed", error=result.error or ""), file=sys.stderr)
        return 1
    busy = [label(k.kind) for k in result.kinds if k.busy]
    print(t("billing_cli.sync_done", received=result.received))
    if busy:
        print(t("billing_cli.sync_busy", kinds=", ".join(busy)))
    return 0


def sync_command(args: argparse.Namespace) -> int:
    ready = _setup()
    if ready is None:
        return 2
    return asyncio.run(_sync(*ready))


def status_command(args: argparse.Namespace) -> int:
    from lkk_app.billing import deliveries, store
    from lkk_app.billing.types import ChangeKind

    ready = _setup()
    if ready is None:
        return 2
    settings, engine = ready
    with Session(engine) as db:
        print(t("billing_cli.adapter", adapter=settings.billing_adapter))
        copied = store.copied_count(db)
        for state in store.all_states(db):
            kind = ChangeKind(state.kind)
            print(t("billing_cli.kind_line", kind=label(kind), rows=copied.get(kind.value, 0),
                    cursor=state.cursor or "—", ok=_when(state.last_ok_at),
                    error=state.last_error or "—"))
        print(t("billing_cli.as_of", when=_when(store.data_as_of(db))))
        print(t("billing_cli.queue", pending=deliveries.pending_count(db)))
        db.rollback()
    return 0


def demo_reset_command(args: argparse.Namespace) -> int:
    from lkk_app.billing.adapters import demo_data
    from lkk_app.core import clock
    from lkk_app.settings import BILLING_DEMO

    ready = _setup()
    if ready is None:
        return 2
    settings, engine = ready
    if settings.billing_adapter != BILLING_DEMO:
        print(t("billing_cli.not_demo"), file=sys.stderr)
        return 1
    with Session(engine) as db:
        demo_data.reset(db, clock.utcnow().date())
        db.commit()
    print(t("billing_cli.demo_reset"))
    return 0


async def _contract_key(settings: Any, engine: Any, number: str) -> tuple[str, str] | None:
    """The key and printed number of the contract with this number, asked of billing."""
    from lkk_app.billing import get_gateway
    from lkk_app.billing.adapters.demo_data import contract_number_key
    from lkk_app.billing.types import ChangeKind, Contract

    gateway = get_gateway(settings, engine=engine)
    wanted = contract_number_key(number)
    try:
        cursor = None
        while True:
            page = await gateway.changes(ChangeKind.CONTRACTS, cursor, 500)
            for contract in page.rows:
                if isinstance(contract, Contract) and contract_number_key(contract.number) == wanted:
                    return contract.key, contract.number
            if not page.has_more:
                return None
            cursor = page.cursor
    finally:
        await gateway.aclose()


def binding_code_command(args: argparse.Namespace) -> int:
    from lkk_app.billing import binding
    from lkk_app.billing.gateway import BillingUnavailable

    ready = _setup()
    if ready is None:
        return 2
    settings, engine = ready
    try:
        found = asyncio.run(_contract_key(settings, engine, args.contract))
    except BillingUnavailable:
        print(t("billing.unavailable"), file=sys.stderr)
        return 1
    if found is None:
        print(t("contract.not_found"), file=sys.stderr)
        return 1
    key, number = found
    with Session(engine) as db:
        code = binding.issue_curator_code(db, key, settings)
        db.commit()
    print(t("billing_cli.binding_code", contract=number, code=code))
    return 0


def add_commands(commands: Any) -> None:
    """Register the billing commands on the main parser's sub-parsers."""
    billing = commands.add_parser("billing", help=t("billing_cli.help"), description=t("billing_cli.help"))
    actions = billing.add_subparsers(dest="billing_command", required=True, metavar="ACTION")
    actions.add_parser("sync", help=t("billing_cli.sync_help")).set_defaults(handler=sync_command)
    actions.add_parser("status", help=t("billing_cli.status_help")).set_defaults(handler=status_command)
    actions.add_parser("demo-reset", help=t("billing_cli.demo_reset_help")).set_defaults(
        handler=demo_reset_command)
    code = commands.add_parser("binding-code", help=t("billing_cli.binding_code_help"),
                               description=t("billing_cli.binding_code_help"))
    code.add_argument("--contract", required=True, help=t("billing_cli.contract_arg"))
    code.set_defaults(handler=binding_code_command)
