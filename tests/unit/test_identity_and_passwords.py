import pytest

from services.identity import normalize_email, normalize_name, normalize_phone
from services.passwords import password_bytes
from trading.errors import InvalidInput, InvalidPassword


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ann@Example.com", "ann@example.com"),
    ("  bob.smith+tag@mail.co.uk\n", "bob.smith+tag@mail.co.uk"),
])
def test_email_is_trimmed_and_lower_cased(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "ann", "ann@", "@example.com", "ann@example",
                                 "a b@example.com", "x" * 250 + "@ex.com"])
def test_invalid_emails_are_refused(raw):
    with pytest.raises(InvalidInput) as caught:
        normalize_email(raw)
    assert caught.value.details == {"field": "email"}


@pytest.mark.parametrize(("raw", "expected"), [
    ("+14155550100", "+14155550100"),
    ("+1 (415) 555-0100", "+14155550100"),
    ("0044 20 7946 0958", "+442079460958"),
    ("+91 98765 43210", "+919876543210"),
])
def test_phones_are_normalised_to_e164(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["4155550100", "+0123456789", "+1 415 CALL NOW", "+1234",
                                 "+1234567890123456"])
def test_phones_not_in_e164_are_refused(raw):
    with pytest.raises(InvalidInput):
        normalize_phone(raw)


def test_names_collapse_whitespace_and_must_not_be_blank():
    assert normalize_name("  Ann \t Lee ") == "Ann Lee"
    with pytest.raises(InvalidInput):
        normalize_name("   ")
    with pytest.raises(InvalidInput):
        normalize_name("x" * 101)


@pytest.mark.parametrize(("password", "ok"), [
    ("1234567", False), ("12345678", True), ("x" * 72, True), ("x" * 73, False),
    ("é" * 36, True), ("é" * 37, False), ("🔒" * 18, True), ("🔒" * 19, False),
])
def test_password_policy_counts_utf8_bytes(password, ok):
    if ok:
        assert password_bytes(password) == password.encode()
    else:
        with pytest.raises(InvalidPassword):
            password_bytes(password)


def test_sliding_window_limit_allows_n_per_window_then_says_when_to_retry():
    from services.limits import SlidingWindowLimit
    from trading.errors import RateLimited
    now = [100.0]
    limit = SlidingWindowLimit(2, 60, clock=lambda: now[0])
    limit.check("u")
    now[0] = 110.0
    limit.check("u")
    limit.check("other")  # keys are separate
    with pytest.raises(RateLimited) as caught:
        limit.check("u")
    assert caught.value.retry_after == 50
    now[0] = 160.0  # the first event left the window
    limit.check("u")


@pytest.mark.parametrize(("raw", "expected"), [
    ("\u202eAnn\u202c", "Ann"),                              # RLO ... PDF
    ("\u202a\u202b\u202c\u202d\u202eAnn", "Ann"),            # every embedding and override
    ("\u2066\u2067\u2068Ann\u2069", "Ann"),                  # isolates
    ("\u200eAnn\u200f \u061cLee", "Ann Lee"),                # LRM, RLM, Arabic letter mark
    ("A\x00n\x07n\x1b[0m", "Ann[0m"),                        # C0 controls
    ("Ann\x7f\x80\x9f", "Ann"),                              # DEL and C1 controls
    ("Ann\nLee\r\x0b\x0c\x85Kay", "Ann Lee Kay"),            # control whitespace -> space
    ("A\u200bn\u2060n\ufeff\u00ad", "Ann"),                  # zero width, joiner, BOM, SHY
    ("Ann\U000e0041\U000e0042", "Ann"),                      # tag characters (hidden text)
    ("\u3164Ann\uffa0", "Ann"),                              # Hangul fillers
    ("Ann\u2800Lee", "Ann\u2800Lee"),                        # braille blank: a character
    ("Zoë", "Zoë"), ("Zoe\u0308", "Zoë"),                    # NFC
    ("José María Núñez", "José María Núñez"),
    ("王小明", "王小明"), ("キム ミン", "キム ミン"), ("Ибрагим", "Ибрагим"),
    ("محمد\u200c علي", "محمد\u200c علي"),                      # ZWNJ kept
    ("👩\u200d💻 Ann", "👩\u200d💻 Ann"),                       # ZWJ emoji sequence kept
    ("❤\ufe0f", "❤\ufe0f"),                                  # variation selector kept
    ("🇫🇷 Ann", "🇫🇷 Ann"),
    ("\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f Cymru",
     "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f Cymru"),
])
def test_names_lose_controls_and_invisible_formatting_and_keep_every_script(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "\u202e", "\u200b\u200c\u200d", "\x00\x01\x1b", "\ufeff\u2060", "\u3164",
    "\u0301\u0301", "\ufe0f", "\U000e0041", "\u2800\u2800", "\ud800", "Ann\udfff",
    "x" * 101, "\u202e" * 5 + "x" * 101,
])
def test_names_with_nothing_visible_too_long_or_not_unicode_are_refused(raw):
    with pytest.raises(InvalidInput) as refused:
        normalize_name(raw)
    assert refused.value.details == {"field": "name"}


def test_the_length_limit_counts_what_is_kept():
    assert normalize_name("\u202a" * 500 + "x" * 100) == "x" * 100
