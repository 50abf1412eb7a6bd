"""The one catalogue of user-visible strings.

Russian is the only language for now; ``t(key, **kw)`` is the single way code
gets a text, so another language is a second dictionary later.
"""

from __future__ import annotations

RU: dict[str, str] = {
    # Common
    "app.title": "Личный кабинет клиента",
    "app.full_title": "Личный кабинет клиента – юридического лица",
    "common.required": "Заполните это поле",
    "common.loading": "Подождите…",
    # Login window (manual 2.1, 2.3)
    "login.title": "Вход в личный кабинет",
    "login.username": "Имя пользователя",
    "login.password": "Пароль",
    "login.submit": "Войти",
    "login.submitting": "Вход…",
    "login.register": "Зарегистрироваться",
    "login.forgot": "Забыли пароль?",
    "login.help": "Скачать краткую инструкцию по регистрации",
    "login.failed": "Неверное имя пользователя или пароль",
    "login.empty_username": "Введите имя пользователя",
    "login.empty_password": "Введите пароль",
    "login.logged_out": "Вы вышли из личного кабинета.",
    "login.session_ended": "Сеанс завершён. Войдите снова.",
    # Cabinet
    "cabinet.tab.profile": "Профиль",
    "cabinet.logout": "Выйти",
    "cabinet.help": "Скачать полную инструкцию по работе с личным кабинетом",
    "profile.title": "Профиль",
    "profile.login": "Логин",
    "profile.email": "Адрес электронной почты",
    "profile.email_confirmed": "подтверждён",
    "profile.email_not_confirmed": "не подтверждён",
    "profile.phone": "Номер телефона",
    "profile.phone_none": "не указан",
    "profile.created": "Дата регистрации",
    "profile.last_login": "Последний вход",
    "profile.never": "—",
    # Validation
    "login_field.empty": "Введите логин",
    "login_field.length": "Логин должен содержать от 3 до 32 символов",
    "login_field.chars": "Логин может содержать только буквы (латинские или русские), цифры и знаки «.», «_», «-»",
    "login_field.taken": "Этот логин уже занят, выберите другой",
    "email.empty": "Введите адрес электронной почты",
    "email.invalid": "Введите адрес электронной почты в виде user@example.com",
    "email.too_long": "Адрес электронной почты слишком длинный",
    "phone.invalid": "Введите номер телефона в формате +7 XXX XXX-XX-XX",
    "password.empty": "Введите пароль",
    "password.too_short": "Пароль должен содержать не менее 8 символов",
    "password.too_long": "Пароль должен содержать не более 128 символов",
    "password.common": "Этот пароль слишком распространён, придумайте другой",
    "password.contains_login": "Пароль не должен совпадать с логином или содержать его",
    "password.mismatch": "Пароли не совпадают",
    "password_confirm.empty": "Повторите пароль",
    "captcha.wrong": "Код введён неверно или устарел. Введите код с новой картинки",
    "captcha.empty": "Введите код с картинки",
    # Registration (manual 2.2, figure 2)
    "register.title": "Регистрация пользователя",
    "register.login": "Логин",
    "register.login_hint": "От 3 до 32 символов: буквы, цифры, «.», «_», «-»",
    "register.email": "Адрес электронной почты",
    "register.phone": "Номер телефона (необязательно)",
    "register.phone_hint": "Например, +7 912 345-67-89",
    "register.password": "Пароль",
    "register.password_hint": "Не менее 8 символов; не должен содержать логин",
    "register.password_confirm": "Подтверждение пароля",
    "register.code": "Код авторизации",
    "register.code_hint": "Введите цифры с картинки",
    "register.code_image": "Картинка с кодом авторизации",
    "register.code_refresh": "Обновить код",
    "register.submit": "Зарегистрироваться",
    "register.submitting": "Регистрация…",
    "register.to_login": "Войти",
    "register.done_title": "Подтвердите адрес электронной почты",
    "register.done_sent_to": "Учётная запись создана. Письмо со ссылкой для подтверждения отправлено на адрес",
    "register.done_text": "Перейдите по ссылке из письма в течение 24 часов — после этого откроется Ваш личный кабинет на закладке «Профиль».",
    "register.done_help": "Если письмо не пришло в течение нескольких минут, проверьте папку «Спам». Чтобы получить новое письмо, войдите с логином и паролем и нажмите «Отправить письмо повторно».",
    "register.failed": "Проверьте поля, отмеченные красным",
    "strength.0": "Надёжность пароля: очень слабый",
    "strength.1": "Надёжность пароля: слабый",
    "strength.2": "Надёжность пароля: средний",
    "strength.3": "Надёжность пароля: хороший",
    "strength.4": "Надёжность пароля: отличный",
    # Confirmation (manual 2.2)
    "confirm.bad_title": "Ссылка не действует",
    "confirm.used": "Эта ссылка уже использована. Если адрес подтверждён, просто войдите в личный кабинет.",
    "confirm.expired": "Срок действия ссылки истёк (ссылка действует 24 часа).",
    "confirm.unknown": "Ссылка неверна или заменена более новой — действует только ссылка из последнего письма.",
    "confirm.how_to_get_new": "Чтобы получить новое письмо, войдите с логином и паролем и нажмите «Отправить письмо повторно».",
    "login.unconfirmed": "Адрес электронной почты ещё не подтверждён. Перейдите по ссылке из письма, которое мы отправили при регистрации.",
    "login.resend": "Отправить письмо повторно",
    "login.resending": "Отправка…",
    "login.resent": "Если отправка писем не ограничена, новое письмо со ссылкой уже в пути. Ссылка из прежнего письма больше не действует.",
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
    "cli.settings_error": "Ошибка настроек: {message}",
    "cli.db_error": "Не удалось записать в базу данных ({detail}). Проверьте REFLEX_DB_URL и выполните миграции.",
}

_CATALOGUES = {"ru": RU}


def t(key: str, lang: str = "ru", **kwargs: object) -> str:
    text = _CATALOGUES.get(lang, RU).get(key) or RU[key]
    return text.format(**kwargs) if kwargs else text
