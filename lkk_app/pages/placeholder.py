import reflex as rx

from lkk_app.components.layout import auth_card, icon_link


def forgot_page() -> rx.Component:
    return auth_card("Введите логин пользователя и e-mail", rx.el.p("Скоро."), icon_link("Войти", "/", "log-in"))
