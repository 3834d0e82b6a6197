import pytest

from server.identity import normalize_email, normalize_name, normalize_phone
from server.passwords import password_bytes
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
    from server.limits import SlidingWindowLimit
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
