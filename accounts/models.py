import secrets
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

DISPLAY_NAME_MAX_LENGTH = 80
COMPANY_MAX_LENGTH = 120
PORTRAIT_MAX_BYTES = 2 * 1024 * 1024


def validate_portrait_size(file: object) -> None:
    if getattr(file, "size", 0) > PORTRAIT_MAX_BYTES:
        raise ValidationError(f"A portrait may be at most {PORTRAIT_MAX_BYTES // 2**20} MB.")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. The email address is the login."""

    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(
        max_length=DISPLAY_NAME_MAX_LENGTH, blank=True, help_text="Shown on reports and comments."
    )
    company = models.CharField(
        max_length=COMPANY_MAX_LENGTH, blank=True, help_text="Company affiliation."
    )
    company_verified = models.BooleanField(
        default=False, help_text="Staff checked the company affiliation; shown as verified."
    )
    notify_on_reply = models.BooleanField(
        default=True, help_text="Email me when someone replies to my comment."
    )
    slug = models.SlugField(
        max_length=80,
        unique=True,
        null=True,
        blank=True,
        help_text="The author page address, /authors/<slug>/. Set when the user first authors.",
    )
    bio = models.TextField(
        blank=True,
        help_text="Public: a few sentences about the author, shown on their author page.",
    )
    # The portrait's alt text is the display name: it shows the person the page is about.
    portrait = models.ImageField(
        upload_to="portraits/%Y/%m/",
        width_field="portrait_width",
        height_field="portrait_height",
        blank=True,
        validators=[
            FileExtensionValidator(["jpg", "jpeg", "png", "webp"]),
            validate_portrait_size,
        ],
        help_text=(
            "Public: a square JPEG, PNG or WebP, at most 2 MB, shown on the author page and "
            "next to the author's name on their reports."
        ),
    )
    portrait_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    portrait_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    is_staff = models.BooleanField(
        default=False, help_text="Editors and moderators: can use the admin and read everything."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def affiliation_seat(self) -> "OrganisationMember | None":
        """The organisation seat that vouches for this person's company, if any."""
        try:
            return self.seat
        except OrganisationMember.DoesNotExist:
            return None

    @property
    def public_name(self) -> str:
        """How the person appears to other readers: never their email address."""
        return self.display_name or "Subscriber"

    @property
    def byline_name(self) -> str:
        """How the person appears as an author (bylines, author pages): never any part of
        their email address; an author without a display name writes for the publication."""
        return self.display_name or settings.SITE_NAME

    def get_full_name(self) -> str:
        return self.display_name or self.email.split("@")[0]

    def get_short_name(self) -> str:
        return self.get_full_name()


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"
    PAUSED = "paused", "Paused"


class StripeSubscription(models.Model):
    """A Stripe subscription mirrored on our side: an individual's or an organisation's.

    `status` holds Stripe's subscription status verbatim; what each status means for access
    is decided in `accounts.membership`, not here.
    """

    Status = SubscriptionStatus

    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=32, choices=Status.choices, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When the Stripe state we hold was true: a state older than this is never applied, so
    # webhooks that arrive out of order cannot move the subscription backwards.
    stripe_state_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Membership(StripeSubscription):
    """A reader's own paid subscription."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    plan = models.CharField(max_length=20, blank=True, help_text="monthly or annual")
    trial_end = models.DateTimeField(null=True, blank=True, help_text="When the free trial ends.")
    # What the next invoice will charge, in the currency's smallest unit (cents), as Stripe
    # previews it; empty when nothing more will be charged (set to end, ended) or not known.
    next_charge_amount = models.PositiveIntegerField(null=True, blank=True)
    next_charge_currency = models.CharField(max_length=3, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~models.Q(stripe_customer_id=""),
                name="membership_customer_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.status or 'no subscription'})"

    @property
    def is_trialing(self) -> bool:
        return self.status == self.Status.TRIALING

    @property
    def access_ends_at(self) -> "datetime | None":
        """When a subscription set to end stops granting access (its period's end)."""
        return self.current_period_end if self.cancel_at_period_end else None


class MembershipEmail(models.Model):
    """A lifecycle email claimed for one membership and one occasion, so it goes out once.

    The row is written in the transaction that applies the change the email is about, and the
    email is sent after that commits: a webhook delivered twice, or several events describing
    the same change, find the row and send nothing more. `key` names the occasion (the
    subscription, an invoice, a trial's or a period's end)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "kind", "key"], name="membership_email_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.membership_id} ({self.key})"


class SubscriptionAttribution(models.Model):
    """The report whose paywall a paid subscription came from, recorded once per subscription
    when Stripe first says it is `active` (paid; a trial counts when it converts). The id
    comes from the checkout's metadata (`source_report_id`), checked when the checkout
    started; `accounts` keeps it as a plain number because it never imports `reports`.
    The row is written in the transaction that applies the subscription, so a redelivered
    event, or another event about the same subscription, records nothing more."""

    subscription_id = models.CharField(max_length=255, unique=True)
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="attributions"
    )
    source_report_id = models.PositiveBigIntegerField()
    paid_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.subscription_id} from report {self.source_report_id}"


class CancellationReason(models.TextChoices):
    TOO_EXPENSIVE = "too_expensive", "It is too expensive"
    NOT_READING = "not_reading", "I am not reading enough"
    MISSING_CONTENT = "missing_content", "It lacks what I am looking for"
    TEAM_LICENCE = "team_licence", "I am switching to a team licence"
    OTHER = "other", "Another reason"


class SubscriptionCancellation(models.Model):
    """A reader set their subscription to end from the account page, and told us why (or not).

    Kept for the publisher when the account is deleted (the user becomes empty)."""

    Reason = CancellationReason
    DETAIL_MAX_LENGTH = 1000

    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    plan = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    detail = models.TextField(max_length=DETAIL_MAX_LENGTH, blank=True)
    access_ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_reason_display() or 'No reason'} ({self.created_at:%Y-%m-%d})"


class LocalInvoice(models.Model):
    """An invoice the local test checkout issued (`make run` without Stripe keys), shown in
    the account page's billing history as Stripe's invoices are. No payment was taken."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="local_invoices"
    )
    number = models.CharField(max_length=40)
    amount_paid = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=20, default="paid")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.number


class Organisation(StripeSubscription):
    """A company licence: a Stripe subscription priced per seat (quantity = seats)."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="owned_organisations"
    )
    seats = models.PositiveIntegerField(default=0, help_text="Seats paid for, from Stripe.")
    join_domains = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated email domains whose verified addresses may join.",
    )
    auto_join = models.BooleanField(
        default=False, help_text="Let verified addresses of the listed domains join by themselves."
    )
    # Paying by invoice: Stripe's collection method, and the latest finalised invoice of the
    # licence as Stripe last reported it (a draft is not an invoice yet and changes none of
    # these). What they mean for access is decided in `accounts.membership`.
    collection_method = models.CharField(max_length=32, blank=True)
    invoice_id = models.CharField(max_length=255, blank=True)
    invoice_number = models.CharField(max_length=64, blank=True)
    invoice_status = models.CharField(max_length=20, blank=True)
    invoice_due_at = models.DateTimeField(null=True, blank=True)
    invoice_amount_due = models.PositiveIntegerField(null=True, blank=True)
    invoice_amount_remaining = models.PositiveIntegerField(null=True, blank=True)
    invoice_currency = models.CharField(max_length=3, blank=True)
    invoice_hosted_url = models.URLField(max_length=1000, blank=True)
    # Single sign-on (accounts/organisations/sso.py): staff link the organisation to an
    # allauth SocialApp (provider "openid_connect" or "saml") of its own.
    slug = models.SlugField(
        max_length=60,
        unique=True,
        null=True,
        blank=True,
        help_text="Names the organisation's sign-in page, /team/<slug>/login/.",
    )
    sso_app = models.OneToOneField(
        "socialaccount.SocialApp",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="organisation",
        verbose_name="identity provider",
        help_text="The organisation's identity provider: a social application of provider "
        "OpenID Connect or SAML.",
    )
    sso_required = models.BooleanField(
        default=False,
        help_text="Addresses at the listed domains may only sign in through the identity provider.",
    )
    sso_group = models.CharField(
        max_length=200,
        blank=True,
        help_text="When set, the identity provider must list this value at every sign-in "
        "(OpenID Connect: the `groups` claim; SAML: the groups attribute), or the person's "
        "seat ends.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~models.Q(stripe_customer_id=""),
                name="organisation_customer_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def pays_by_invoice(self) -> bool:
        return self.collection_method == "send_invoice"

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.join_domains.split(",") if d.strip()]

    def clean(self) -> None:
        """Single sign-on needs its page (a slug), an OpenID Connect or SAML application,
        and, to be required, the domains it is required for."""
        errors = {}
        if self.sso_app is not None:
            if not self.slug:
                errors["slug"] = "Give the organisation a slug: its sign-in page needs one."
            if self.sso_app.provider not in ("openid_connect", "saml"):
                errors["sso_app"] = "Choose an OpenID Connect or SAML application."
        if self.sso_required and (self.sso_app_id is None or not self.domains):
            errors["sso_required"] = (
                "Single sign-on can only be required with an identity provider and domains."
            )
        if errors:
            raise ValidationError(errors)


class OrganisationMember(models.Model):
    """A person holding one of an organisation's seats. A person holds at most one seat."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="seat")
    is_admin = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation}"


class OrganisationNetwork(models.Model):
    """One of an organisation's office address ranges: readers arriving from it read under
    the organisation's licence (reports/access.py). `cidr` is stored normalised (the network
    address and prefix, `ipaddress.ip_network(..., strict=False)`); validation, the size limit
    and the refusal of overlaps live in accounts/organisations/networks.py."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="networks"
    )
    cidr = models.CharField(
        "address range",
        max_length=43,
        unique=True,
        help_text="CIDR, IPv4 or IPv6, e.g. 203.0.113.0/24 or 2001:db8:4::/48.",
    )
    label = models.CharField(max_length=120, blank=True, help_text="e.g. London office")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cidr"]

    def __str__(self) -> str:
        return f"{self.cidr} ({self.organisation})"


class OrganisationInvitation(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organisation}"


class OrganisationRemoval(models.Model):
    """An admin took this person off the team: joining by email domain no longer admits them.

    Kept by address as well as by account, so a new account on the same address stays out
    too. Accepting a new invitation from the organisation deletes the row."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="removals"
    )
    email = models.EmailField(help_text="The person's address when removed, lower case.")
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-removed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"], name="organisation_removal_unique_email"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} removed from {self.organisation}"


class SeatMonthReads(models.Model):
    """How many report pages one seat holder read in full through the seat in one calendar
    month (site time zone), for the organisation's team page. Only the number: never which
    reports or when. Folded in from the reading marks' counters (reports.counting.folding),
    which keep twelve months."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The month's first day.")
    reads = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user", "month"], name="seat_month_reads_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organisation_id}, {self.month:%Y-%m}: {self.reads}"


class StripeEvent(models.Model):
    """A webhook event we processed. The primary key makes a second delivery a no-op."""

    event_id = models.CharField(max_length=255, primary_key=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-processed_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


def _new_subscriber_token() -> str:
    return secrets.token_urlsafe(32)


class NewsletterSubscriberQuerySet(models.QuerySet["NewsletterSubscriber"]):
    def receiving(self) -> "NewsletterSubscriberQuerySet":
        """Confirmed through double opt-in and not unsubscribed since."""
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)


class NewsletterSubscriber(models.Model):
    """An address that asked for new-report emails, with the consent we recorded for it.

    `email` holds the normalised address (case-folded, IDNA domain), so uniqueness on the
    column is uniqueness on the address. `token` is the subscriber's personal authority in
    unsubscribe links; the confirmation token is separate, short-lived and stored hashed.
    """

    email = models.EmailField(max_length=254, unique=True)
    user = models.OneToOneField(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="newsletter_subscriber",
    )
    token = models.CharField(max_length=64, unique=True, default=_new_subscriber_token)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_source = models.CharField(
        max_length=140, blank=True, help_text="The form the consent came from."
    )
    confirmation_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NewsletterSubscriberQuerySet.as_manager()

    class Meta:
        constraints = [
            # Belt and braces: services store the normalised form, this refuses anything else.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="newsletter_email_lowercase"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_receiving(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    @property
    def awaiting_confirmation(self) -> bool:
        """A confirmation link went out and nothing confirmed the address since.

        A used link leaves a hash of its own behind (the link then says "You are
        subscribed"), so the hash alone does not say a link is pending: a confirmation after
        the link was sent marks it used."""
        sent = self.confirmation_sent_at
        return (
            bool(self.confirmation_token_hash)
            and sent is not None
            and (self.confirmed_at is None or self.confirmed_at < sent)
        )


class NewsletterImport(models.Model):
    """An upload of another platform's subscriber export, checked (a dry run), then imported.

    The file is kept in this row rather than in media storage: media is served to the
    public, and a list of addresses must never be reachable there. Web and worker processes
    share the database, so the task finds it on any node. It is emptied once the import
    ran (or failed), leaving only the counts and the rejected rows for the staff member
    who ran it.
    """

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking the file"
        CHECKED = "checked", "Checked, waiting for confirmation"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    file_name = models.CharField(max_length=255)
    content = models.BinaryField(editable=False)
    source_format = models.CharField(max_length=20)
    consent = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CHECKING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    rejected_csv = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class SubscriptionChange(models.Model):
    """One state of a mirrored subscription, in force from `at` until `until` (open while
    it is the current one): the history the publisher's figures are computed from, since
    `Membership` and `Organisation` hold only Stripe's present state.

    Written in one place, `accounts.billing.ledger.subscription_change_record`, whenever the
    sync changes what a subscription counts for. `holder_id` is no foreign key: the history
    stays when an account or organisation is deleted."""

    class Kind(models.TextChoices):
        MEMBERSHIP = "membership", "Membership"
        ORGANISATION = "organisation", "Organisation"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    holder_id = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=32, choices=SubscriptionStatus.choices, blank=True)
    plan = models.CharField(max_length=20, blank=True)
    seats = models.PositiveIntegerField(default=0)
    # What the subscription adds to monthly recurring revenue, in the currency's smallest
    # unit (an annual price counts a twelfth), and what the state before it added.
    mrr = models.PositiveIntegerField(default=0)
    previous_mrr = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["kind", "holder_id", "until"], name="subscription_change_holder"),
            models.Index(fields=["at"], name="subscription_change_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "holder_id"],
                condition=models.Q(until__isnull=True),
                name="subscription_change_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.holder_id}: {self.status} from {self.at:%Y-%m-%d}"


class EmailSuppressionQuerySet(models.QuerySet["EmailSuppression"]):
    def in_force(self) -> "EmailSuppressionQuerySet":
        """Suppressions no staff member has released: these addresses are never mailed."""
        return self.filter(released_at__isnull=True)


class EmailSuppression(models.Model):
    """An address we must not mail, and why (`accounts.deliverability`).

    `address` is normalised as newsletter subscribers' are, so the notification query can
    exclude by equality. One suppression in force per address; a released one stays as
    history, and the address may be suppressed again by a later event.
    """

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Spam complaint"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        PROVIDER_UNSUBSCRIBE = "provider_unsubscribe", "Unsubscribed at the provider"
        MANUAL = "manual", "Suppressed by staff"

    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    provider = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField("released", null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = EmailSuppressionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["address"],
                condition=models.Q(released_at__isnull=True),
                name="email_suppression_one_in_force",
            ),
        ]
        indexes = [models.Index(fields=["address"], name="email_suppression_address")]

    def __str__(self) -> str:
        return f"{self.address} ({self.get_reason_display()})"


class EmailEvent(models.Model):
    """One provider event, recorded once: the ledger that makes redelivered events change
    nothing twice, and the source of the per-report delivery figures.

    `key` is the provider's event id with the recipient (one SES notification covers every
    recipient of a message), or a hash of the payload when the provider sends no id.
    `report_id` is a plain number read from the message's metadata: `accounts` knows
    nothing of reports.
    """

    class Outcome(models.TextChoices):
        DELIVERED = "delivered"
        OPENED = "opened"
        CLICKED = "clicked"
        BOUNCED = "bounced"
        SOFT_BOUNCED = "soft_bounced"
        COMPLAINED = "complained"
        REJECTED = "rejected"
        UNSUBSCRIBED = "unsubscribed"
        OTHER = "other"

    provider = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    event_type = models.CharField(max_length=24)
    recipient = models.CharField(max_length=254, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    report_id = models.PositiveBigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "key"], name="email_event_unique"),
        ]
        indexes = [
            models.Index(fields=["report_id", "outcome"], name="email_event_report"),
            models.Index(fields=["recipient", "outcome", "occurred_at"], name="email_event_rcpt"),
            models.Index(fields=["message_id"], name="email_event_message"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.recipient}"


class SessionNetwork(models.Model):
    """A network (IPv4 /24, IPv6 /48) an account's signed-in sessions came from on a day, in
    the site's time zone. One row per account, day and network: what the admin's report of
    accounts used from an unusual number of places counts (accounts/sessions/)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="session_networks")
    day = models.DateField()
    network = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "day", "network"], name="session_network_unique_per_day"
            ),
        ]
        indexes = [models.Index(fields=["day", "user"], name="session_network_day_user")]
        verbose_name_plural = "session networks (accounts signed in from many places)"

    def __str__(self) -> str:
        return f"{self.user} from {self.network} on {self.day}"
