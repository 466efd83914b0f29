"""Changes the tests make in the identity provider's database, run in its own process:

python -m tests.support.oidc_idp.control client <client_id> <secret> <redirect_uri>
python -m tests.support.oidc_idp.control user <email> <password> [group ...]
python -m tests.support.oidc_idp.control groups <email> [group ...]
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.oidc_idp.settings")


def main(argv: list[str]) -> None:
    import django

    django.setup()
    from allauth.account.models import EmailAddress
    from allauth.idp.oidc.models import Client
    from django.contrib.auth.models import Group, User

    command, *args = argv
    if command == "client":
        client_id, secret, redirect_uri = args
        client, _ = Client.objects.update_or_create(
            id=client_id,
            defaults={"name": "Gridline Research", "type": Client.Type.CONFIDENTIAL,
                      "skip_consent": True},
        )  # fmt: skip
        client.set_secret(secret)
        client.set_redirect_uris([redirect_uri])
        client.set_scopes(["openid", "profile", "email"])
        client.set_grant_types([Client.GrantType.AUTHORIZATION_CODE])
        client.set_response_types(["code"])
        client.save()
        return
    email, *rest = args
    if command == "user":
        password, *groups = rest
        user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
        user.set_password(password)
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
    else:
        groups = rest
        user = User.objects.get(username=email)
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])


if __name__ == "__main__":
    main(sys.argv[1:])
