"""Texts shared by every page: the application's name, loading, required fields, guides."""

RU: dict[str, str] = {
    # Common
    "app.title": "Личный кабинет клиента",
    "app.full_title": "Личный кабинет клиента – юридического лица",
    "common.required": "Заполните это поле",
    "common.send_failed": "Не удалось связаться с сервером. Проверьте подключение к интернету и повторите попытку.",
    "common.download_failed": "Не удалось скачать файл. Обновите страницу и повторите попытку.",
    "common.show_password": "Показать пароль",
    "common.hide_password": "Скрыть пароль",
    "common.caps_lock": "Включён Caps Lock",
    "common.loading": "Подождите…",
    # File names of the downloaded guides (lkk_app/components/layout.py)
    "guide.registration_file": "Инструкция по регистрации.pdf",
    "guide.user_file": "Руководство пользователя.pdf",
}
