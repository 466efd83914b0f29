"""DKIM signatures (RFC 6376) on the mail that leaves over SMTP.

A receiver checks the signature against the public key published at
`<selector>._domainkey.<domain>` and so knows the message came from us unaltered. RFC 8058
asks for the signature to cover `List-Unsubscribe` and `List-Unsubscribe-Post`: otherwise
anyone relaying the message could swap the one-click unsubscribe address.

dkimpy does what is particular to DKIM: splitting the message, the relaxed canonicalisation
of headers and body, choosing the signed header instances and hashing the signature header
without its own `b=` value. The one RSA operation per message is OpenSSL's (cryptography):
dkimpy's own RSA is plain Python and took about 9 ms per message with a 2048-bit key, more
than the whole SMTP conversation of a bulk notification, against about 0.3 ms here. The key
is read and parsed once per process (`configured_signer`), never per message.

The signer works on the bytes exactly as they go to the server, so nothing between signing
and sending can change what was signed.
"""

import base64
import functools
import hashlib
import re
import time
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from dkim.canonicalization import CanonicalizationPolicy

# What a receiver must be able to trust: who sent it, to whom, what it says it is, and the
# one-click unsubscribe (RFC 8058). Only those present are signed.
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
MINIMUM_KEY_BITS = 1024  # what receivers (and dkimpy's verifier) accept at the least

_RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
# RFC 6376 3.1: a selector is one or more DNS labels.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LABELS = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_SIGNATURE_LINE = 72  # characters of base64 per folded line of `b=`


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    key: rsa.RSAPrivateKey

    def sign(self, message: bytes) -> bytes:
        """`message` (CRLF line endings, as sent) with a DKIM-Signature header in front."""
        headers, body = dkim.rfc822_parse(message)
        present = {name.lower() for name, _ in headers}
        if b"from" not in present:
            raise ValueError("A message without a From header cannot be signed.")
        signed = [name for name in SIGNED_HEADERS if name in present]
        body_hash = base64.b64encode(hashlib.sha256(_RELAXED.canonicalize_body(body)).digest())
        # Folded at tag boundaries; a verifier unfolds before checking (relaxed), and hashes
        # this header as written with `b=` empty, so the value is appended after signing.
        unsigned = (
            " v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
            f" d={self.domain}; s={self.selector}; t={int(time.time())};\r\n"
            f" h={':'.join(name.decode() for name in signed)};\r\n"
            f" bh={body_hash.decode()};\r\n b="
        ).encode("ascii")
        hasher = hashlib.sha256()
        dkim.hash_headers(
            hasher,
            _RELAXED,
            _RELAXED.canonicalize_headers(headers),
            signed,
            (b"DKIM-Signature", unsigned),
            {},
        )
        signature = base64.b64encode(
            self.key.sign(hasher.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        )
        folded = b"\r\n ".join(
            signature[i : i + _SIGNATURE_LINE] for i in range(0, len(signature), _SIGNATURE_LINE)
        )
        return b"DKIM-Signature:" + unsigned + folded + b"\r\n" + message


def configured_signer() -> DkimSigner | None:
    """The signer the settings describe, or None when no key is configured.

    Raises ImproperlyConfigured, never showing the key, when the settings make no sense.
    """
    return _signer(
        settings.DKIM_PRIVATE_KEY,
        settings.DKIM_PRIVATE_KEY_FILE,
        settings.DKIM_SELECTOR,
        settings.DKIM_DOMAIN or parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2],
    )


@functools.cache
def _signer(pem: str, pem_file: str, selector: str, domain: str) -> DkimSigner | None:
    if pem and pem_file:
        raise ImproperlyConfigured("Set DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE, not both.")
    if pem_file:
        try:
            pem = Path(pem_file).read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise ImproperlyConfigured(
                f"DKIM_PRIVATE_KEY_FILE={pem_file!r} cannot be read: "
                f"{getattr(error, 'strerror', None) or 'not text'}."
            ) from None
        source = "DKIM_PRIVATE_KEY_FILE"
    else:
        source = "DKIM_PRIVATE_KEY"
    if not pem:
        if selector:
            raise ImproperlyConfigured(
                "DKIM_SELECTOR is set but no DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE: "
                "nothing would be signed."
            )
        return None
    if not selector or not _LABELS.fullmatch(selector):
        raise ImproperlyConfigured(
            f"DKIM_SELECTOR={selector!r} is not a DNS label such as 'gridline2026' "
            "(letters, digits and hyphens, dot-separated)."
        )
    if not domain or not _LABELS.fullmatch(domain) or "." not in domain:
        raise ImproperlyConfigured(
            f"The DKIM domain {domain!r} is not a domain name: set DKIM_DOMAIN, or a "
            "DEFAULT_FROM_EMAIL whose address is at the sending domain."
        )
    # Environment files often carry a PEM on one line with literal \n.
    pem = pem.replace("\\n", "\n")
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        # cryptography's message may quote the input; say what is wrong, not what was given.
        raise ImproperlyConfigured(
            f"{source} is not an unencrypted PEM private key "
            "(`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` makes one)."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"{source} is not an RSA key: DKIM signs with rsa-sha256.")
    if key.key_size < MINIMUM_KEY_BITS:
        raise ImproperlyConfigured(
            f"{source} has {key.key_size} bits: receivers ignore DKIM keys under "
            f"{MINIMUM_KEY_BITS} (2048 is usual)."
        )
    return DkimSigner(selector=selector, domain=domain, key=key)


def dns_record(signer: DkimSigner) -> str:
    """The TXT record to publish at `<selector>._domainkey.<domain>`."""
    public = signer.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"
