"""«Служба поддержки» (manual 3)."""

RU: dict[str, str] = {
    # Support (manual 3)
    "support.title": "Служба поддержки",
    "support.link": "Служба поддержки",
    "support.intro": "Получить консультацию по регистрации и работе в личном кабинете Вы можете по телефонам информационно-справочной службы гарантирующего поставщика.",
    "support.supplier": "Гарантирующий поставщик",
    "support.phones": "Телефоны",
    "support.hours": "Часы работы",
    "support.address": "Адрес",
    "support.email": "Электронная почта",
    "support.back_login": "Вернуться ко входу",
    "support.back_cabinet": "Вернуться в личный кабинет",
}
