"""The administrator's command line (lkk_app/cli.py), the sender process and refused settings."""

RU: dict[str, str] = {
    # Administrator command line (lkk_app/cli.py)
    "cli.description": "Команды администратора личного кабинета",
    "cli.create_user.help": "Создать пользователя с подтверждённым адресом электронной почты (пароль читается из терминала или первой строки стандартного ввода)",
    "cli.field.login": "Логин",
    "cli.field.email": "Адрес электронной почты",
    "cli.field.phone": "Номер телефона",
    "cli.field.password": "Пароль",
    "cli.field_error": "{field}: {message}",
    "cli.password_prompt": "Пароль: ",
    "cli.password_repeat": "Повторите пароль: ",
    "cli.user_created": "Пользователь «{login}» создан (id {id}), адрес электронной почты подтверждён.",
    "cli.static_headers.help": "Заголовки, которые статический хостинг должен отдавать со страницами из «reflex export» (LKK_FRONTEND_URL)",
    "cli.field.pages_dir": "Каталог выгруженных страниц",
    "cli.static_headers.no_pages": "В каталоге {dir} нет index.html: сначала выполните «reflex export --frontend-only --no-zip».",
    "cli.settings_error": "Ошибка настроек: {message}",
    # The server refuses to start (lkk_app/settings.py: refusal_text)
    "settings.refused": "ЛКК не запущен: неверных настроек — {count}. Исправьте переменные окружения (README.md, раздел «Settings»):",
    "cli.db_error": "Не удалось записать в базу данных ({detail}). Проверьте REFLEX_DB_URL и выполните миграции.",
    # The sender process (python -m lkk_app.jobs.worker)
    "worker.description": "Отправка писем из очереди и удаление устаревших записей вне веб-сервера",
    "worker.once": "обработать одну порцию писем и завершить работу",
}
