from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from publisher.mail.signing import configured_signer, dns_record

_DNS_STRING = 255  # the longest character-string a TXT record holds (RFC 1035 3.3)


class Command(BaseCommand):
    help = (
        "Print the DNS TXT record that publishes the configured DKIM key's public half, "
        "as a zone file line (the value split into strings of at most 255 characters)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            signer = configured_signer()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        if signer is None:
            raise CommandError("No DKIM key is configured (DKIM_PRIVATE_KEY_FILE, DKIM_SELECTOR).")
        value = dns_record(signer)
        strings = " ".join(
            f'"{value[i : i + _DNS_STRING]}"' for i in range(0, len(value), _DNS_STRING)
        )
        self.stdout.write(f"{signer.selector}._domainkey.{signer.domain}. IN TXT {strings}")
