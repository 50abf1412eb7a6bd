"""The development mailbox (/dev/mail)."""

RU: dict[str, str] = {
    # Development mailbox /dev/mail (lkk_app/http_routes.py)
    "dev_mail.loopback_only": "Почтовый ящик разработчика открывается только на этом компьютере (по адресу 127.0.0.1 или localhost).",
}
