"""Runs the identity provider: `python -m tests.support.oidc_idp.serve <port>`.

With IDP_CLOCK (a Unix time) the process starts its clock there, ticking on, so the tokens it
issues agree with the test's clock (under `--frozen-clock` too)."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.support.oidc_idp.settings")


def main(port: int) -> None:
    import django
    from django.core.servers.basehttp import run

    django.setup()
    from django.core.wsgi import get_wsgi_application

    run("127.0.0.1", port, get_wsgi_application(), threading=True)


if __name__ == "__main__":
    clock = os.environ.get("IDP_CLOCK")
    if clock:
        import time_machine

        with time_machine.travel(float(clock), tick=True):
            main(int(sys.argv[1]))
    else:
        main(int(sys.argv[1]))
