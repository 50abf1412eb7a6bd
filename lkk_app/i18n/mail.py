"""The development mailbox (/dev/mail)."""

RU: dict[str, str] = {
    # Development mailbox /dev/mail (lkk_app/web/http/dev_mail.py)
    "dev_mail.loopback_only": "Почтовый ящик разработчика открывается только на этом компьютере (по адресу 127.0.0.1 или localhost).",
    "dev_mail.title": "Почтовый ящик разработчика",
    "dev_mail.notice": "Без настроенного SMTP-сервера письма сохраняются в {directory} и показаны здесь. В рабочем режиме эта страница отключена.",
    "dev_mail.meta": "{date} · Кому: {to}",
    "dev_mail.empty": "Писем пока нет.",
}
