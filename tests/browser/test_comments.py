import pytest
from playwright.sync_api import Page, expect

from reports.comments.services import comment_create
from reports.models import Report
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_subscriber_posts_replies_and_edits_without_reloading(
    live_server, page: Page, screenshot, log_in
):
    report = ReportFactory(slug="heat-pumps", title="Three heat pumps at -15 °C")
    other = MembershipFactory(user__display_name="Ada Installer", user__company="Acme").user
    comment_create(author=other, report=report, body="Our field COP matched within 0.1.")
    subscriber = MembershipFactory(user__display_name="Sam Subscriber").user
    log_in(page, subscriber)
    page.goto(f"{live_server.url}/reports/heat-pumps/")
    loads = []
    page.on("load", lambda: loads.append(page.url))

    page.get_by_label("Add a comment").fill("Did you test **defrost** cycles?")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment__body strong", has_text="defrost")).to_be_visible()
    expect(page.get_by_role("heading", name="Comments (2)")).to_be_visible()

    page.get_by_role("link", name="Reply").first.click()
    page.get_by_label("Your reply").fill("Agreed, same here.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator(".comment-replies").get_by_text("Agreed, same here.")).to_be_visible()
    expect(page.get_by_role("heading", name="Comments (3)")).to_be_visible()
    assert loads == []  # posting and replying did not reload the page
    screenshot("comments-subscriber")

    page.locator(".comment", has_text="defrost").get_by_role("link", name="Edit").click()
    page.get_by_label("Comment").fill("Did you test defrost cycles at -15 °C?")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Did you test defrost cycles at -15 °C?")).to_be_visible()
    expect(page.locator(".comment__edited")).to_have_count(1)

    # Report is a button of one shared form (no token inside the cached thread); Delete
    # asks first, on a page of its own.
    page.locator(".comment", has_text="field COP").get_by_role("button", name="Report").click()
    expect(page.get_by_text("the moderators will look at this comment")).to_be_visible()
    page.locator(".comment", has_text="defrost").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this comment?")).to_be_visible()
    expect(page.locator(".comment-quote")).to_contain_text("Did you test defrost cycles")
    screenshot("comment-delete-confirm")
    page.get_by_role("link", name="Keep it").click()
    expect(page.get_by_text("Did you test defrost cycles at -15 °C?")).to_be_visible()
    page.locator(".comment", has_text="defrost").get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete the comment").click()
    expect(page.get_by_text("The comment was deleted.")).to_be_visible()
    expect(page.get_by_text("Did you test defrost cycles")).to_have_count(0)


def test_a_moderator_hides_a_comment_and_only_its_author_sees_why(
    live_server, page: Page, new_page, screenshot, log_in
):
    ReportFactory(slug="inverters", title="Hybrid inverter shootout")
    author = MembershipFactory(user__display_name="Cai Commenter").user
    comment_create(
        author=author, report=Report.objects.get(slug="inverters"),
        body="Call this installer at home: 555-0100.",
    )  # fmt: skip
    moderator = UserFactory(display_name="Mo Derator", is_staff=True)
    log_in(page, moderator)
    page.goto(f"{live_server.url}/reports/inverters/")

    page.locator(".comment", has_text="555-0100").get_by_role("link", name="Hide").click()
    screenshot("comment-hide-reason")
    page.get_by_label("Reason, for the author").fill("It shares a private phone number.")
    page.get_by_role("button", name="Hide the comment").click()
    expect(page.get_by_text("The comment is now hidden.")).to_be_visible()

    own = new_page()
    log_in(own, author)
    own.goto(f"{live_server.url}/reports/inverters/#comments")
    note = own.locator(".comment__hidden-note")
    expect(note).to_contain_text("Hidden by a moderator.")
    expect(note).to_contain_text("It shares a private phone number.")
    screenshot("comment-hidden-for-its-author", target=own)

    other = new_page()
    log_in(other, MembershipFactory().user)
    other.goto(f"{live_server.url}/reports/inverters/")
    expect(other.get_by_role("heading", name="Comments (0)")).to_be_visible()
    assert "555-0100" not in other.content()
    assert "private phone number" not in other.content()


def test_anonymous_reader_sees_only_the_count_and_the_call_to_join(
    live_server, page: Page, screenshot
):
    report = ReportFactory(slug="wallboxes", title="Standby draw of six wallboxes")
    author = MembershipFactory().user
    comment_create(author=author, report=report, body="Private subscriber discussion text.")

    page.goto(f"{live_server.url}/reports/wallboxes/")

    expect(page.get_by_role("heading", name="Comments (1)")).to_be_visible()
    expect(page.locator(".comments__locked")).to_contain_text(
        "Subscribers only. Log in or subscribe"
    )
    assert "Private subscriber discussion text." not in page.content()
    screenshot("comments-anonymous")
