"""The Postmark batch as our payload assembles it is the batch Anymail's own serialisation
makes, copy for copy, whatever the values hold; and a long id list travels as one array."""

import json

import pytest
from django.db.models import F

from accounts.models import NewsletterSubscriber
from publisher.lookups import AnyOf
from publisher.mail.providers import PostmarkBackend, batch_message, mailer_batch_size, merge_field

TRICKY = [
    'Quotes " and \\ backslashes',
    "</script><b>tags</b> & ampersands",
    "Zürich, 東京, emoji \U0001f50b, a line\nbreak and\ta tab",
    merge_field("not_a_key"),
]


def _payload(recipients: dict[str, dict[str, str]]):
    message = batch_message(
        subject=f"Batteries {merge_field('name')} \u2014 tested",
        text=f"Hello {merge_field('name')},\nunsubscribe: {merge_field('url')}\n",
        html=f'<p>Hello {merge_field("name_html")}</p><a href="{merge_field("url")}">x</a>',
        from_email="Gridline Research <reports@example.com>",
        headers={"List-Id": "Gridline Research new reports <reports.example.com>"},
        recipients=recipients,
        recipient_headers={
            to: {"List-Unsubscribe": f"<{values['url']}>", "list-id": "own"}
            for to, values in recipients.items()
        },
        recipient_metadata={to: {"delivery": str(n)} for n, to in enumerate(recipients)},
    )
    backend = PostmarkBackend(server_token="token", api_url="http://127.0.0.1:9/")
    return backend.build_message_payload(message, backend.send_defaults)


def test_the_assembled_batch_equals_anymails_copy_by_copy():
    recipients = {
        f"reader-{n}@example.com": {"name": value, "name_html": value, "url": f"https://x/u/{n}/"}
        for n, value in enumerate(TRICKY)
    }
    recipients['"Odd, Name" <odd.one@example.com>'] = {"name": "O", "name_html": "O", "url": "u"}
    payload = _payload(recipients)

    assembled = json.loads(payload.serialize_data())
    anymails = [payload.data_for_recipient(to) for to in payload.to_emails]

    assert assembled == anymails
    assert [copy["To"] for copy in assembled][-1] == '"Odd, Name" <odd.one@example.com>'
    first = assembled[0]
    assert first["Subject"] == f"Batteries {TRICKY[0]} \u2014 tested"
    assert {h["Name"]: h["Value"] for h in first["Headers"]} == {
        "List-Unsubscribe": "<https://x/u/0/>",
        "list-id": "own",  # the recipient's header replaces the message's, in any case
    }
    assert assembled[3]["TextBody"].startswith(f"Hello {merge_field('not_a_key')},")


def test_a_plain_address_is_taken_as_written_and_any_other_is_parsed():
    payload = _payload(
        {
            "first.last+tag@mail.example.com": {"name": "a", "name_html": "a", "url": "u"},
            "Zoë <zoe@xn--exmple-cua.com>": {"name": "b", "name_html": "b", "url": "u"},
        }
    )
    assert [(to.display_name, to.addr_spec) for to in payload.to_emails] == [
        ("", "first.last+tag@mail.example.com"),
        ("Zoë", "zoe@xn--exmple-cua.com"),
    ]


@pytest.mark.django_db
def test_any_of_selects_the_listed_ids_with_one_parameter(django_assert_num_queries):
    rows = NewsletterSubscriber.objects.bulk_create(
        NewsletterSubscriber(email=f"any-{n}@example.com") for n in range(5)
    )
    wanted = [rows[1].pk, rows[3].pk]
    with django_assert_num_queries(1) as captured:
        found = list(
            NewsletterSubscriber.objects.filter(AnyOf(F("pk"), wanted)).values_list("pk", flat=True)
        )
    assert sorted(found) == sorted(wanted)
    assert "ANY(" in captured.captured_queries[0]["sql"]
    assert not NewsletterSubscriber.objects.filter(AnyOf(F("pk"), [])).exists()


def test_the_batch_size_is_the_real_backends_behind_a_wrapping_mailer(settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "accounts.deliverability.mailer.SuppressingMailer",
            "OPTIONS": {
                "backend": "publisher.mail.providers.PostmarkBackend",
                "options": {"server_token": "t"},
            },
        }
    }
    assert mailer_batch_size() == 500
