"""Form tokens made for a CSRF secret without Django's request handling
(publisher/csrf.py, `csrf_token_for_secret`): Django's own check accepts them, and each is
masked afresh."""

from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_TOKEN_LENGTH,
    _does_token_match,
    _get_new_csrf_string,
)

from publisher.csrf import csrf_token_for_secret


def test_django_accepts_the_token_for_its_secret_and_no_other():
    for _ in range(200):
        secret, other = _get_new_csrf_string(), _get_new_csrf_string()
        token = csrf_token_for_secret(secret)

        assert len(token) == CSRF_TOKEN_LENGTH and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _does_token_match(token, secret)
        assert not _does_token_match(token, other)


def test_every_token_has_a_mask_of_its_own():
    secret = _get_new_csrf_string()
    tokens = {csrf_token_for_secret(secret) for _ in range(100)}
    assert len(tokens) == 100
