"""One new-report notification as the bulk path assembles it, for tests of the mailers."""

from publisher.mail.messages import BulkEmail, PreparedEmail, message_id


def notification_message(
    to: str, *, site: str = "http://testserver", teaser_html: str = "<p>Teaser</p>"
) -> PreparedEmail:
    bulk = BulkEmail(
        name="report-notification",
        context={
            "report": None,
            "author_name": "Ana Author",
            "report_url": f"{site}/reports/r/",
            "teaser_html": teaser_html,
            "preferences_url": f"{site}/newsletter/preferences/",
            "test": False,
        },
        personal=("unsubscribe_url", "email"),
    )
    url = f"{site}/newsletter/unsubscribe/tok/"
    return bulk.message(
        to=to,
        values={"unsubscribe_url": url, "email": to},
        message_id=message_id("delivery-1.report-1"),
        unsubscribe_url=url,
    )
