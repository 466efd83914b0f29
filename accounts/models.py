import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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
        max_length=80, blank=True, help_text="Shown on reports and comments."
    )
    company = models.CharField(max_length=120, blank=True, help_text="Company affiliation.")
    is_staff = models.BooleanField(
        default=False, help_text="Editors and moderators: can use the admin and read everything."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    def get_full_name(self) -> str:
        return self.display_name or self.email.split("@")[0]

    def get_short_name(self) -> str:
        return self.get_full_name()


class Membership(models.Model):
    """A reader's paid subscription, mirrored from Stripe.

    `status` holds Stripe's subscription status verbatim; what each status means for access
    is decided in `accounts.membership`, not here.
    """

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        UNPAID = "unpaid", "Unpaid"
        PAUSED = "paused", "Paused"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=32, choices=Status.choices, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
