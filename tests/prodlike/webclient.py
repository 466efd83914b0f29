"""A small HTTP client for the prod-like suites: one reader's cookies, no redirects followed.

The production settings mark the session and CSRF cookies `Secure`, and the topology speaks
plain HTTP on loopback, where a real cookie jar (urllib's, rightly) never sends them back. So
cookies are kept by hand, by name, as a browser on https would keep them.
"""

import http.client
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def everything(self) -> str:
        """Status line, headers and body: all a reader receives, to search for canaries."""
        return f"{self.status}\n{self.headers}\n{self.text}"


@dataclass
class WebClient:
    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    # The local address to connect from: another loopback address (127.0.0.2, …) plays a
    # reader on another network, since nginx sees the peer address.
    source: str | None = None

    def request(self, method: str, path: str, *, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, body: bytes | None = None,
                ) -> Response:  # fmt: skip
        """`form` posts URL-encoded fields; `body` is sent as it is (its Content-Type in
        `headers`), for a multipart upload."""
        parts = urlsplit(self.base)
        connection = http.client.HTTPConnection(
            parts.hostname,
            parts.port,
            timeout=30,
            source_address=(self.source, 0) if self.source else None,
        )
        sent = {"User-Agent": "gridline-prodlike-tests", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        payload: bytes | str | None = body
        if form is not None:
            payload = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = self.base  # as a browser sends with every form POST
        try:
            connection.request(method, path, body=payload, headers=sent)
            raw = connection.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            connection.close()
        self._keep_cookies(response)
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, str], **kwargs) -> Response:
        return self.request("POST", path, form=form, **kwargs)

    def _keep_cookies(self, response: Response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)  # the server deleted it (logout, flash read)
                else:
                    self.cookies[name] = morsel.value

    def form_token(self, path: str) -> str:
        """GET a page with a form and return its CSRF form token (the cookie comes with it)."""
        page = self.get(path)
        found = FORM_TOKEN.search(page.text)
        assert page.status == 200 and found, f"no CSRF form token on {path} ({page.status})"
        return found.group(1)

    def log_in(self, email: str, password: str) -> None:
        """Through allauth's login form, as a reader would."""
        token = self.form_token("/accounts/login/")
        response = self.post(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "login": email, "password": password},
        )
        assert response.status == 302, f"login of {email} answered {response.status}"
        assert "sessionid" in self.cookies, f"login of {email} set no session cookie"
