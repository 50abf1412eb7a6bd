"""The PDF user guides: committed output matches its sources, and it reads right.

``scripts/build_guides.py`` builds ``assets/guides/*.pdf`` from
``docs/guides/*.md``; these tests keep the committed PDFs in step with the
Markdown sources.  If the first test fails, run ``python scripts/build_guides.py``
and commit the PDFs together with ``assets/guides/SOURCES.sha256``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_guides.py"
GUIDES = ROOT / "assets" / "guides"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

SHORT_GUIDE_TERMS = (
    "Личный кабинет клиента – юридического лица",
    "Вход в личный кабинет",
    "Имя пользователя",
    "Забыли пароль?",
    "Регистрация пользователя",
    "Код авторизации",
    "Обновить код",
    "Отправить письмо повторно",
    "Служба поддержки",
    "24 часа",
)
FULL_GUIDE_TERMS = SHORT_GUIDE_TERMS + (
    "Содержание",
    "Неверное имя пользователя или пароль",
    "Введите логин пользователя и e-mail",
    "Сбросить пароль",
    # the neutral answer of «Забыли пароль?», word for word
    "Если логин и адрес электронной почты совпадают с данными учётной записи, "
    "на этот адрес отправлено письмо с новым паролем.",
    "Новый пароль",  # the line of the letter and the field of «Смена пароля»
    "Смена пароля",
    "Сохранить",
    "Профиль",
    "Изменить пароль",
    "Выйти",
    "Служба поддержки",
    "Вернуться ко входу",
    # repeated failed logins (lkk_app/i18n/, auth/throttle.py, auth/ratelimit.py)
    "Слишком много неудачных попыток входа. Повторите попытку через",
    "Слишком много неудачных попыток входа с Вашего адреса.",
    "15 минут",
    # «Сеансы» and «Журнал безопасности» in «Профиль»
    "Сеансы",
    "Этот сеанс",
    "Завершить",
    "Выйти на всех устройствах",
    "Журнал безопасности",
    # «Договоры» (lkk_app/i18n/billing.py)
    "Привязать договор",
    "Найти договор",
    "Код подтверждения",
    "Отправить код повторно",
    "Подключить отмеченные",
    "Данные на",
    "Договор не найден. Проверьте ИНН, КПП и номер договора или обратитесь к куратору",
    "Договор уже подключён к личному кабинету Вашей организации. "
    "Мы отправили администратору запрос на доступ для Вас",
    "Отвязать договор",
    # «Документы», «Расчёты» and «Уведомления» (lkk_app/i18n/documents.py)
    "Скачать выбранные (.zip)",
    "Запросить акт сверки",
    "Запрос отправлен. Акт сверки готовится — он появится в списке документов.",
    "Конец периода раньше его начала.",
    "Показать таблицей",
    "Скопировано в буфер обмена.",
    "Настройки уведомлений сохранены.",
    "Появилась задолженность",
)
# Screenshots (docs/guides/img/*.png) each guide shows, at least.
MIN_IMAGES = {"registration-guide.pdf": 2, "user-guide.pdf": 26}


def run_script(*args: str, root: Path | None = None) -> subprocess.CompletedProcess[str]:
    script = SCRIPT if root is None else root / "scripts" / "build_guides.py"
    cmd = [sys.executable, str(script), *args]
    if root is not None:
        cmd += ["--root", str(root)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def pdf_text(path: Path) -> tuple[int, str]:
    """The guide's running text: the pages' header and footer lines dropped,
    so that a sentence broken by a page still reads as one."""
    import pypdf
    reader = pypdf.PdfReader(str(path))
    pages = []
    for number, page in enumerate(reader.pages):
        lines = (page.extract_text() or "").splitlines()
        lines = [line for line in lines if not re.fullmatch(r"\s*Страница \d+ из \d+\s*", line)]
        if number and lines and lines[0].startswith("Личный кабинет клиента – юридического лица"):
            lines = lines[1:]
        pages.append("\n".join(lines))
    text = "\n".join(pages)
    return len(reader.pages), " ".join(text.split())  # lines wrap anywhere


def pdf_image_count(path: Path) -> int:
    """Image XObjects drawn on the pages (each figure is one)."""
    import pypdf
    reader = pypdf.PdfReader(str(path))
    count = 0
    for page in reader.pages:
        resources = page.get("/Resources")
        if resources is None:
            continue
        xobjects = resources.get_object().get("/XObject")
        if xobjects is None:
            continue
        for ref in xobjects.get_object().values():
            if ref.get_object().get("/Subtype") == "/Image":
                count += 1
    return count


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for rel in ("docs/guides", "assets/guides"):
        shutil.copytree(ROOT / rel, root / rel)
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(SCRIPT, root / "scripts" / "build_guides.py")
    return root


@pytest.fixture
def guide_font() -> None:
    """Building needs a Cyrillic font; `make test` installs fonts-dejavu-core
    (scripts/ensure_test_tools.py).  Without one this fails, it does not skip."""
    assert FONT.is_file() or os.environ.get("LKK_GUIDE_FONT"), (
        "building the guides needs DejaVu Sans (apt-get install fonts-dejavu-core) "
        "or LKK_GUIDE_FONT")


def test_committed_guides_are_up_to_date() -> None:
    result = run_script("--check")
    assert result.returncode == 0, (
        "PDF guides are stale; run `python scripts/build_guides.py` and commit assets/guides/\n"
        + result.stderr
    )


@pytest.mark.parametrize(
    ("name", "terms"),
    [
        ("registration-guide.pdf", SHORT_GUIDE_TERMS),
        ("user-guide.pdf", FULL_GUIDE_TERMS),
    ],
)
def test_guide_pdf_names_the_screens(name: str, terms: tuple[str, ...]) -> None:
    pages, text = pdf_text(GUIDES / name)
    assert pages >= 1
    missing = [term for term in terms if term not in text]
    assert not missing, f"{name} does not mention {missing}"


@pytest.mark.parametrize(("name", "minimum"), sorted(MIN_IMAGES.items()))
def test_guide_pdf_shows_the_screenshots(name: str, minimum: int) -> None:
    assert pdf_image_count(GUIDES / name) >= minimum
    _, text = pdf_text(GUIDES / name)
    for n in range(1, minimum + 1):
        assert f"Рисунок {n} – " in text, f"{name}: no caption «Рисунок {n} – …»"


def test_full_guide_follows_the_manual_structure() -> None:
    _, text = pdf_text(GUIDES / "user-guide.pdf")
    for heading in (
        "1 Назначение сервиса",
        "2 Вход в ЛКК",
        "2.1 Окно входа в систему",
        "2.2 Регистрация",
        "2.3 Вход для зарегистрированных пользователей",
        "2.4 Восстановление пароля",
        "3 Личный кабинет, закладка «Профиль»",
        "3.1 Изменение номера телефона",
        "3.2 Смена пароля",
        "3.3 Сеансы",
        "3.4 Журнал безопасности",
        "3.5 Уведомления",
        "3.6 Руководство пользователя и выход из ЛКК",
        "4 Личный кабинет, закладка «Договоры»",
        "4.1 Список договоров",
        "4.2 Карточка договора",
        "4.3 Привязка договора",
        "4.4 Сообщения и ограничения",
        "4.5 Код привязки от куратора",
        "4.6 Договор уже подключён",
        "4.7 Отвязка договора",
        "4.8 Уведомления организации",
        "5 Личный кабинет, закладка «Точки учёта»",
        "5.1 Список точек учёта",
        "5.2 Карточка точки учёта",
        "6 Личный кабинет, закладка «Показания»",
        "6.1 Сроки приёма показаний",
        "6.2 Ввод показаний",
        "6.3 Ошибки и предупреждения",
        "6.4 Результат и замена показаний",
        "6.5 Квитанция",
        "6.6 Показания из файла Excel",
        "7 Личный кабинет, закладка «Документы»",
        "7.1 Список документов",
        "7.2 Отбор и порядок",
        "7.3 Скачивание документов",
        "7.4 Акт сверки взаиморасчётов",
        "8 Личный кабинет, закладка «Расчёты»",
        "8.1 Состояние расчётов",
        "8.2 График платежей",
        "8.3 Оплата",
        "8.4 Потребление",
        "8.5 Платежи",
        "9 Служба поддержки пользователей",
    ):
        assert heading in text


def test_check_fails_when_a_source_changes(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    assert run_script("--check", root=root).returncode == 0

    source = root / "docs" / "guides" / "registration.md"
    source.write_text(source.read_text(encoding="utf-8") + "\nНовый абзац.\n", encoding="utf-8")
    result = run_script("--check", root=root)
    assert result.returncode == 1
    assert "registration-guide.pdf is out of date" in result.stderr
    assert "docs/guides/registration.md" in result.stderr
    assert "user-guide.pdf" not in result.stderr  # the other guide is still fine


def test_check_fails_when_the_script_or_a_pdf_changes(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    pdf = root / "assets" / "guides" / "user-guide.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"\n% edited by hand\n")
    result = run_script("--check", root=root)
    assert result.returncode == 1
    assert "user-guide.pdf does not match the stamp" in result.stderr

    (root / "assets" / "guides" / "SOURCES.sha256").unlink()
    result = run_script("--check", root=root)
    assert result.returncode == 1
    assert "SOURCES.sha256 is missing" in result.stderr


def test_build_is_deterministic_and_supports_images(tmp_path: Path, guide_font) -> None:
    from PIL import Image as image_mod
    root = copy_project(tmp_path)
    img_dir = root / "docs" / "guides" / "img"
    img_dir.mkdir(exist_ok=True)
    image_mod.new("RGB", (640, 400), (0, 120, 200)).save(img_dir / "test-login.png")
    source = root / "docs" / "guides" / "registration.md"
    source.write_text(
        source.read_text(encoding="utf-8")
        + "\n![Тестовый снимок окна входа](img/test-login.png)\n",
        encoding="utf-8",
    )

    # the image is a source: the stamp is stale until the guide is rebuilt
    assert run_script("--check", root=root).returncode == 1
    first = run_script(root=root)
    assert first.returncode == 0, first.stderr
    pdf = root / "assets" / "guides" / "registration-guide.pdf"
    built = pdf.read_bytes()
    assert run_script("--check", root=root).returncode == 0
    assert "img/test-login.png" in (root / "assets" / "guides" / "SOURCES.sha256").read_text()

    _, text = pdf_text(pdf)
    own = (ROOT / "docs" / "guides" / "registration.md").read_text(encoding="utf-8")
    figure = sum(line.startswith("![") for line in own.splitlines()) + 1  # after the guide's own
    assert f"Рисунок {figure} – Тестовый снимок окна входа" in text

    again = run_script(root=root)
    assert again.returncode == 0, again.stderr
    assert pdf.read_bytes() == built, "two builds of the same sources differ"

    # replacing the screenshot makes the guide stale
    image_mod.new("RGB", (640, 400), (200, 0, 0)).save(img_dir / "test-login.png")
    result = run_script("--check", root=root)
    assert result.returncode == 1
    assert "docs/guides/img/test-login.png" in result.stderr


def test_missing_image_fails_loudly(tmp_path: Path, guide_font) -> None:
    root = copy_project(tmp_path)
    source = root / "docs" / "guides" / "user-guide.md"
    source.write_text(
        source.read_text(encoding="utf-8") + "\n![Профиль](img/absent.png)\n", encoding="utf-8"
    )
    for args in ((), ("--check",)):
        result = run_script(*args, root=root)
        assert result.returncode == 1
        assert "img/absent.png not found" in result.stderr


def test_every_figure_the_text_names_is_in_its_section():
    """«рисунок N» in the text is the N-th screenshot, shown in the same numbered
    section (a screenshot added or taken away renumbers the ones after it)."""
    text = (ROOT / "docs" / "guides" / "user-guide.md").read_text(encoding="utf-8")
    section, figure = "", 0
    figures: dict[int, str] = {}
    references: list[tuple[int, str]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            section = line.split()[1]
        if line.startswith("!["):
            figure += 1
            figures[figure] = section
        references += [(int(n), section) for n in re.findall(r"рисун(?:ок|ке|ка) (\d+)", line)]
    assert len(references) >= 20
    wrong = [(n, where, figures.get(n)) for n, where in references if figures.get(n) != where]
    assert not wrong, wrong
