"""Runs the SAML identity provider: `python -m tests.support.saml_idp.serve <port>`.

Everything it knows is in the directory SAML_IDP_DIR names: its key and certificate (and a
foreign pair), the service's metadata (sp.xml, as an identity provider's administrator would
upload it), its people (users.json: address -> password and groups) and the mode file
(tests/support/saml_idp/__init__.py). With SAML_IDP_CLOCK (a Unix time) its clock starts
there, ticking on, so its assertions agree with the test's clock (under `--frozen-clock` too).

GET /metadata       the provider's metadata
GET /sso            an AuthnRequest (HTTP-Redirect binding): the sign-in form
POST /sso           the sign-in form: a signed response, posted to the service's ACS
"""

import html
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORD
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server
from saml2.sigver import get_xmlsec_binary

from tests.support.saml_idp import (
    EXPIRED,
    FOREIGN_KEY,
    ONLY_RESPONSE_SIGNED,
    SHA1_SIGNATURE,
    UNSIGNED,
    UNSOLICITED,
    WRONG_AUDIENCE,
)

DIRECTORY = Path(os.environ.get("SAML_IDP_DIR", "."))
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
# pysaml2's own default, which services should refuse.
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
ASSERTION_MINUTES = 5


def _config(base_url: str, key: str, cert: str) -> IdPConfig:
    config = IdPConfig()
    config.load(
        {
            "entityid": f"{base_url}/metadata",
            "xmlsec_binary": get_xmlsec_binary(["/usr/bin"]),
            "key_file": str(DIRECTORY / key),
            "cert_file": str(DIRECTORY / cert),
            "metadata": {"local": [str(DIRECTORY / "sp.xml")]},
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(f"{base_url}/sso", BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": ASSERTION_MINUTES},
                            "attribute_restrictions": None,
                            "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                        }
                    },
                }
            },
        }
    )
    return config


def _mode() -> str:
    path = DIRECTORY / "mode"
    return path.read_text().strip() if path.exists() else ""


def _users() -> dict:
    path = DIRECTORY / "users.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _page(body: str, status: str = "200 OK") -> tuple[str, list, bytes]:
    document = (
        f"<!doctype html><html><head><title>Globex sign-in</title></head><body>{body}</body></html>"
    )
    return status, [("Content-Type", "text/html; charset=utf-8")], document.encode()


class IdentityProvider:
    def __init__(self, base_url: str) -> None:
        self.server = Server(config=_config(base_url, "key.pem", "cert.pem"))
        self.foreign = Server(config=_config(base_url, "foreign-key.pem", "foreign-cert.pem"))

    def __call__(self, environ, start_response):
        status, headers, body = self.route(environ)
        start_response(status, headers)
        return [body]

    def route(self, environ) -> tuple[str, list, bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/metadata":
            xml = create_metadata_string(None, config=self.server.config, valid=24)
            return "200 OK", [("Content-Type", "text/xml")], xml
        if path == "/sso" and method == "GET":
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            return self.sign_in_form(query, error="")
        if path == "/sso" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            posted = parse_qs(environ["wsgi.input"].read(length).decode())
            form = {k: v[0] for k, v in posted.items()}
            return self.answer(form)
        return "404 Not Found", [("Content-Type", "text/plain")], b"not here"

    def sign_in_form(self, query: dict, *, error: str) -> tuple[str, list, bytes]:
        if "SAMLRequest" not in query:
            return _page("<p>No sign-in was asked for.</p>", "400 Bad Request")
        self.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(query[name])}">'
            for name in ("SAMLRequest", "RelayState")
            if name in query
        )
        return _page(
            f"<h1>Globex sign-in</h1>{f'<p role=alert>{error}</p>' if error else ''}"
            f'<form method="post" action="/sso">{hidden}'
            '<label>Email <input name="email" type="email"></label>'
            '<label>Password <input name="password" type="password"></label>'
            "<button>Sign in</button></form>"
        )

    def answer(self, form: dict) -> tuple[str, list, bytes]:
        user = _users().get(form.get("email", ""))
        if user is None or user["password"] != form.get("password"):
            return self.sign_in_form(form, error="Wrong address or password.")
        request = self.server.parse_authn_request(form["SAMLRequest"], BINDING_HTTP_REDIRECT)
        args = self.server.response_args(request.message, [BINDING_HTTP_POST])
        mode = _mode()
        server = self.foreign if mode == FOREIGN_KEY else self.server
        issued_at = time.time() - (3600 if mode == EXPIRED else 0)
        response = self._respond(server, form["email"], user, args, mode, issued_at)
        http = server.apply_binding(
            BINDING_HTTP_POST, str(response), args["destination"],
            form.get("RelayState", ""), response=True,
        )  # fmt: skip
        return "200 OK", [("Content-Type", "text/html; charset=utf-8")], http["data"].encode()

    def _respond(self, server, email, user, args, mode, issued_at):
        import time_machine

        audience = args["sp_entity_id"]
        if mode == WRONG_AUDIENCE:
            audience = "https://another-service.example/saml"
        with time_machine.travel(issued_at, tick=False):
            return server.create_authn_response(
                {"mail": [email], "givenName": [user.get("given_name", "Ines")],
                 "isMemberOf": user.get("groups", [])},
                in_response_to=None if mode == UNSOLICITED else args["in_response_to"],
                destination=args["destination"],
                sp_entity_id=audience,
                name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
                authn={"class_ref": PASSWORD},
                sign_assertion=mode not in (UNSIGNED, ONLY_RESPONSE_SIGNED),
                sign_response=mode == ONLY_RESPONSE_SIGNED,
                sign_alg=RSA_SHA1 if mode == SHA1_SIGNATURE else RSA_SHA256,
                digest_alg=SHA1 if mode == SHA1_SIGNATURE else SHA256,
            )  # fmt: skip


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write(f"idp: {format % args}\n")


def main(port: int) -> None:
    app = IdentityProvider(f"http://127.0.0.1:{port}")
    with make_server("127.0.0.1", port, app, handler_class=QuietHandler) as httpd:
        httpd.serve_forever()


if __name__ == "__main__":
    clock = os.environ.get("SAML_IDP_CLOCK")
    if clock:
        import time_machine

        with time_machine.travel(float(clock), tick=True):
            main(int(sys.argv[1]))
    else:
        main(int(sys.argv[1]))
