from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Membership, NewsletterSubscriber, User
from reports.models import Citation, Report, Topic

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: object, **kwargs: object) -> None:
        self.save()
        if create:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    status = Membership.Status.ACTIVE
    current_period_end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"topic-{n}")
    name = factory.Sequence(lambda n: f"Topic {n}")


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"report-{n}")
    title = factory.Sequence(lambda n: f"Report number {n}")
    kind = Report.Kind.TEST
    teaser = "A public teaser that everyone may read."
    body = "## Findings\n\nThe subscriber-only findings."
    status = Report.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    author = factory.SubFactory(
        UserFactory, is_staff=True, slug=factory.Sequence(lambda n: f"author-{n}")
    )

    @factory.post_generation
    def topics(self, create: bool, extracted: list[Topic] | None, **kwargs: object) -> None:
        if create and extracted:
            self.topics.set(extracted)


class CitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citation

    citing = factory.SubFactory(ReportFactory)
    cited = factory.SubFactory(ReportFactory)


class NewsletterSubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NewsletterSubscriber

    email = factory.Sequence(lambda n: f"subscriber{n}@example.com")
    confirmed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    consent_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    consent_source = "home"
