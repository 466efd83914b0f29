"""The identity provider's adapter: a `groups` claim from the user's Django groups, and,
when a test asks for it (a word in the file IDP_MODE_FILE names), an ID token a relying
party must refuse."""

import os
from pathlib import Path
from typing import Any

from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from allauth.idp.oidc.models import PrivateKey

from tests.support.oidc_idp import EXPIRED, FOREIGN_KEY, WRONG_AUDIENCE


def _mode() -> str:
    path = Path(os.environ["IDP_MODE_FILE"])
    return path.read_text().strip() if path.exists() else ""


class MisbehavingOIDCAdapter(DefaultOIDCAdapter):
    def get_claims(self, purpose: Any, user: Any, client: Any, scopes: Any, email: Any = None,
                   **kwargs: Any) -> dict[str, Any]:  # fmt: skip
        claims = super().get_claims(purpose, user, client, scopes, email=email, **kwargs)
        claims["groups"] = sorted(user.groups.values_list("name", flat=True))
        return claims

    def populate_id_token(self, id_token: dict[str, Any], client: Any, scopes: Any,
                          **kwargs: Any) -> None:  # fmt: skip
        mode = _mode()
        if mode == WRONG_AUDIENCE:
            id_token["aud"] = "some-other-application"
        elif mode == EXPIRED:
            id_token["iat"] -= 3600
            id_token["exp"] = id_token["iat"] + 60

    def get_signing_key(self) -> PrivateKey:
        # A key the provider does not publish: the token looks signed, by nobody we trust.
        if _mode() == FOREIGN_KEY:
            return PrivateKey(pem=os.environ["IDP_FOREIGN_PRIVATE_KEY"])
        return super().get_signing_key()
