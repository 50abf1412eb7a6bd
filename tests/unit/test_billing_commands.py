"""``python -m lkk_app.cli billing …`` and ``binding-code`` on the development
defaults (the demo billing in the cabinet's SQLite database)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, SQLModel, select

from lkk_app import cli
from lkk_app import db as db_module
from lkk_app.billing import background, binding, store
from lkk_app.billing.adapters.demo_tables import DemoContract
from lkk_app.billing.binding_tables import CuratorCode
from lkk_app.settings import get_settings


@pytest.fixture
def engine():
    engine = db_module.get_engine()
    SQLModel.metadata.create_all(engine)
    assert background.seed_demo_if_empty(engine, get_settings())
    assert not background.seed_demo_if_empty(engine, get_settings())  # once
    return engine


def test_sync_prints_progress_and_fills_the_copy(engine, capsys):
    assert cli.main(["billing", "sync"]) == 0
    out = capsys.readouterr().out
    with Session(engine) as db:
        copied = store.copied_count(db)
        assert copied["contracts"] == 4 and store.data_as_of(db) is not None
    # Every record the demo billing holds today, counted by the copy too.
    assert "договоры: получено 4" in out
    assert f"Синхронизация завершена, получено записей: {sum(copied.values())}." in out


def test_status_shows_each_kind_the_date_and_the_queue(engine, capsys):
    assert cli.main(["billing", "status"]) == 0
    before = capsys.readouterr().out
    assert "Расчётная система: demo" in before and "Данные на никогда" in before
    assert cli.main(["billing", "sync"]) == 0
    capsys.readouterr()
    assert cli.main(["billing", "status"]) == 0
    after = capsys.readouterr().out
    assert re.search(r"договоры: в копии 4, курсор \d+, последний проход \d\d\.\d\d\.\d{4} \d\d:\d\d", after)
    assert re.search(r"Данные на \d\d\.\d\d\.\d{4} \d\d:\d\d", after)
    assert "В очереди отправки в расчётную систему: 0" in after


def test_demo_reset_restores_what_was_changed(engine, capsys):
    with Session(engine) as db:
        row = db.get(DemoContract, "ctr-1001")
        row.max_power_kw = 1
        db.add(row)
        db.commit()
    assert cli.main(["billing", "demo-reset"]) == 0
    assert "восстановлены" in capsys.readouterr().out
    with Session(engine) as db:
        assert db.get(DemoContract, "ctr-1001").max_power_kw == 120


def test_a_curator_gets_a_binding_code_stored_hashed(engine, capsys):
    assert cli.main(["binding-code", "--contract", " д–1001 "]) == 0
    out = capsys.readouterr().out
    code = re.search(r"Код привязки договора Д-1001: ([A-Z0-9-]{14})\.", out).group(1)
    with Session(engine) as db:
        stored = db.exec(select(CuratorCode)).one()
        assert stored.contract_key == "ctr-1001" and code not in stored.code_hash
        assert binding.looks_like_curator_code(code)
    assert cli.main(["binding-code", "--contract", "Д-9999"]) == 1
    assert "Договор не найден" in capsys.readouterr().err
