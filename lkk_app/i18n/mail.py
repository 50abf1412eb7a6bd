"""The development mailbox (/dev/mail)."""

RU: dict[str, str] = {
    # Development mailbox /dev/mail (lkk_app/web/http/dev_mail.py)
    "dev_mail.loopback_only": "Почтовый ящик разработчика открывается только на этом компьютере (по адресу 127.0.0.1 или localhost).",
    "dev_mail.title": "Почтовый ящик разработчика",
    "dev_mail.notice": "Без настроенного SMTP-сервера письма сохраняются в {directory} и показаны здесь. В рабочем режиме эта страница отключена.",
    "dev_mail.meta": "{date} · Кому: {to}",
    "dev_mail.empty": "Писем пока нет.",
    # The demo mailbox /demo/mail (LKK_DEMO=1 without an SMTP server)
    "demo_mail.title": "Почта демонстрационной версии",
    "demo_mail.notice": "Демонстрационная версия не отправляет писем: письма на адрес показаны здесь любому, кто его укажет. Не вводите настоящие данные.",
    "demo_mail.address": "Адрес электронной почты",
    "demo_mail.show": "Показать письма",
    "demo_mail.empty": "Писем на этот адрес нет.",
}
