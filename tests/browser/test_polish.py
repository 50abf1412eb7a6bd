"""The look, measured in Chromium: headings stronger than the field labels under
them, no half-empty card in «Профиль», «Обновить код» beside the code's image
on a phone, a button never touching the text above it, the tabs' focus ring
whole, and tap targets of at least 44 × 44 px on a phone."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.test_login import login_as
from tests.browser.test_readings import fresh_billing, open_tab  # noqa: F401
from tests.browser.test_throttle import submit

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

HIERARCHY = r"""() => {
  const shown = e => e.getClientRects().length > 0 && !e.closest('.sr-only');
  const look = e => { const s = getComputedStyle(e);
    return {text: e.textContent.trim().slice(0, 40), size: parseFloat(s.fontSize), weight: +s.fontWeight}; };
  const pick = sel => [...document.querySelectorAll(sel)].filter(shown).map(look);
  return {headings: pick('.card h1, .card h2, .panel h1, .panel h2, .panel h3, .cabinet-main h1'),
          labels: pick('.field-label, .switch-label, .check-title')};
}"""

# Every control that can be tapped, with its hit area (a control inside a
# <label> is hit through the label too).  Links inside a sentence are exempt:
# WCAG 2.5.8 leaves inline targets to the line height of the text.
TARGETS = r"""() => {
  const out = [];
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex="0"]';
  for (const e of document.querySelectorAll(sel)) {
    const s = getComputedStyle(e);
    let r = e.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || s.visibility === 'hidden' || e.closest('.sr-only')) continue;
    if (e.tagName === 'A' && s.display === 'inline' && [...e.parentElement.childNodes].some(
        n => n.nodeType === 3 && n.textContent.trim())) continue;  // inside a sentence
    const label = e.closest('label');
    if (label) {
      const l = label.getBoundingClientRect();
      r = {width: Math.max(r.right, l.right) - Math.min(r.left, l.left),
           height: Math.max(r.bottom, l.bottom) - Math.min(r.top, l.top)};
    }
    if (r.width < 43.5 || r.height < 43.5)
      out.push(`${e.tagName.toLowerCase()}.${e.className} «${(e.textContent.trim() || e.getAttribute('aria-label') || '').slice(0, 30)}» ${Math.round(r.width)}×${Math.round(r.height)}`);
  }
  return out;
}"""

# A button (or the form or row that holds it) right after a paragraph or list:
# the gap between them.
GAPS = r"""() => {
  const out = [];
  for (const b of document.querySelectorAll('button, .btn')) {
    if (!b.getClientRects().length) continue;
    let e = b;
    while (!e.previousElementSibling && e.parentElement && /^(FORM|DIV)$/.test(e.parentElement.tagName))
      e = e.parentElement;
    const prev = e.previousElementSibling;
    if (!prev || !/^(P|UL|OL|DL)$/.test(prev.tagName) || !prev.getClientRects().length) continue;
    const above = prev.getBoundingClientRect(), me = b.getBoundingClientRect();
    if (above.bottom > me.top + 1) continue;  // beside it, not above
    const gap = me.top - above.bottom;
    if (gap < 8) out.push(`«${b.textContent.trim().slice(0, 30)}» ${gap.toFixed(1)} px under «${prev.textContent.trim().slice(0, 30)}»`);
  }
  return out;
}"""


def _hierarchy(page, where: str) -> list[str]:
    found = page.evaluate(HIERARCHY)
    assert found["headings"] and found["labels"], (where, found)
    size = max(label["size"] for label in found["labels"])
    weight = max(label["weight"] for label in found["labels"])
    return [f"{where}: «{h['text']}» {h['size']}px/{h['weight']} under a label's {size}px/{weight}"
            for h in found["headings"] if h["weight"] < weight or h["size"] <= size]


def test_card_titles_are_stronger_than_field_labels(page, make_user, fresh_billing):  # noqa: F811
    page.goto("/register")
    expect(page.get_by_role("heading", name="Регистрация пользователя")).to_be_visible()
    bad = _hierarchy(page, "/register")
    open_tab(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"), "Договоры")
    expect(page.get_by_role("heading", name="Договоры организации")).to_be_visible()
    bad += _hierarchy(page, "Договоры")
    for tab in ("Расчёты", "Профиль"):
        page.get_by_role("link", name=tab, exact=True).click()
        expect(page.get_by_role("heading", name=tab, exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        bad += _hierarchy(page, tab)
    assert bad == []


def test_profile_has_no_half_empty_card(page, make_user, fresh_billing):  # noqa: F811
    page.set_viewport_size(DESKTOP)
    open_tab(page, make_user, "org-romashka", ("ctr-1001",), "Профиль")
    expect(page.get_by_role("heading", name="Изменение номера телефона")).to_be_visible()
    # Each card ends where its content ends (its bottom padding and a little more).
    empty = page.evaluate("""() => [...document.querySelectorAll('.cabinet-main .panel')].map(p => {
        const last = [...p.querySelectorAll(':scope > *')].filter(e => e.getClientRects().length).pop();
        return [(p.querySelector('h1, h2') || p).textContent.slice(0, 40),
                p.getBoundingClientRect().bottom - last.getBoundingClientRect().bottom];
    })""")
    assert len(empty) >= 4
    assert [(title, gap) for title, gap in empty if gap > 48] == []
    shot(page, "polish-profile")
    page.set_viewport_size(PHONE)
    shot(page, "polish-profile-phone")


def test_code_refresh_stays_beside_the_image_on_a_phone(page, make_user, db_env):
    login, _, _ = make_user()
    page.goto("/")
    for _ in range(5):
        submit(page, login, "Неверный пароль 1")
    image = page.locator("#captcha-img")
    expect(image).to_be_visible()
    refresh = page.get_by_role("button", name="Обновить код")
    listen = page.get_by_role("button", name="Прослушать код")
    for width in (375, 320):
        page.set_viewport_size({"width": width, "height": 740})
        page.wait_for_timeout(100)
        img, btn, card = image.bounding_box(), refresh.bounding_box(), page.locator(".card").bounding_box()
        assert img and btn and card
        # On the image's line, inside the card, and «Прослушать код» under them.
        assert img["y"] <= btn["y"] + btn["height"] / 2 <= img["y"] + img["height"], (width, img, btn)
        assert btn["x"] + btn["width"] <= card["x"] + card["width"], (width, btn, card)
        assert listen.bounding_box()["y"] >= img["y"] + img["height"]
        shot(page, f"polish-code-{width}")


def test_a_button_keeps_its_distance_from_the_text_above(page, make_user):
    login, password, _ = make_user(confirmed=False)
    page.goto("/")
    login_as(page, login, password)
    button = page.get_by_role("button", name="Отправить письмо повторно")
    expect(button).to_be_visible()
    above = page.locator(".unconfirmed > p").bounding_box()
    assert above is not None
    assert button.bounding_box()["y"] - (above["y"] + above["height"]) >= 8
    assert page.evaluate(GAPS) == []
    shot(page, "polish-unconfirmed")


def test_the_tab_focus_ring_is_whole(page, make_user, fresh_billing):  # noqa: F811
    open_tab(page, make_user, "org-romashka", ("ctr-1001",), "Договоры")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        tab = page.get_by_role("link", name="Профиль", exact=True)
        # Reach the tab from the keyboard (focus-visible) from the link before it.
        page.get_by_role("button", name="Выйти").focus()
        page.keyboard.press("Tab")
        expect(tab).to_be_focused()
        clipped = tab.evaluate("""tab => {
            const s = getComputedStyle(tab);
            if (!tab.matches(':focus-visible') || s.outlineStyle === 'none') return 'no ring';
            const out = parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset);
            const r = tab.getBoundingClientRect();
            const ring = {l: r.left - out, t: r.top - out, r: r.right + out, b: r.bottom + out};
            const bad = [];
            for (let a = tab.parentElement; a; a = a.parentElement) {
                const as = getComputedStyle(a);
                if (as.overflowX === 'visible' && as.overflowY === 'visible') continue;
                const c = a.getBoundingClientRect();
                const box = {l: c.left + a.clientLeft, t: c.top + a.clientTop,
                             r: c.left + a.clientLeft + a.clientWidth, b: c.top + a.clientTop + a.clientHeight};
                if (ring.l < box.l - 0.5 || ring.t < box.t - 0.5 || ring.r > box.r + 0.5 || ring.b > box.b + 0.5)
                    bad.push(a.className);
            }
            return bad.join(' ');
        }""")
        assert clipped == "", (width, clipped)
        shot(page, f"polish-tab-focus-{width}")


def _phone_targets(page, where: str) -> list[str]:
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(150)
    return [f"{where}: {e}" for e in page.evaluate(TARGETS)] + [f"{where}: {e}" for e in page.evaluate(GAPS)]


def test_tap_targets_on_a_phone(page, make_user, db_env, fresh_billing):  # noqa: F811
    bad: list[str] = []
    for url in ("/", "/register", "/forgot", "/support", "/confirm-failed?reason=used", "/no-such-page"):
        page.goto(url)
        expect(page.locator("h1").first).to_be_visible()
        page.wait_for_load_state("networkidle")
        bad += _phone_targets(page, url)
    login, _, _ = make_user()
    page.goto("/")
    for _ in range(5):
        submit(page, login, "Неверный пароль 1")
    expect(page.locator("#captcha-img")).to_be_visible()
    bad += _phone_targets(page, "/ with the code")
    shot(page, "polish-login-code-phone")
    page.set_viewport_size(DESKTOP)
    open_tab(page, make_user, "org-romashka", ("ctr-1001", "ctr-1002"), "Договоры")
    page.wait_for_load_state("networkidle")
    bad += _phone_targets(page, "Договоры")
    shot(page, "polish-contracts-phone")
    for tab in ("Точки учёта", "Показания", "Документы", "Расчёты", "Профиль"):
        page.get_by_role("link", name=tab, exact=True).click()
        expect(page.get_by_role("heading", name=tab, exact=True)).to_be_visible()
        page.wait_for_load_state("networkidle")
        bad += _phone_targets(page, tab)
        shot(page, "polish-" + re.sub(r"\W+", "-", tab) + "-phone")
    assert bad == []
