"""The favicon: an SVG linked from every page, and a classic /favicon.ico for everything
that asks for it by name, both long-cached and allowed by the CSP."""

from io import BytesIO

import pytest
from PIL import Image

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_an_icon_in_the_usual_sizes(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    icon = Image.open(BytesIO(response.content))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48)} <= set(icon.info["sizes"])
    # The mark's dark square, as in static/favicon.svg.
    assert icon.convert("RGB").getpixel((16, 4)) == (0x16, 0x18, 0x1D)


@pytest.mark.parametrize("persona", ["anonymous", "subscriber"])
def test_favicon_ico_is_cached_long_by_everyone(
    request, client_for, django_assert_num_queries, persona
):
    client = client_for(request.getfixturevalue(persona))

    with django_assert_num_queries(0):  # nothing about the reader is asked
        response = client.get("/favicon.ico")

    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert directives == {"public", "max-age=2592000"}
    assert not response.cookies


def test_head_works_and_other_methods_do_not(client):
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


def test_every_page_links_both_icons(client):
    page = client.get("/").content.decode()

    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in page
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page


def test_the_svg_icon_is_served_and_the_csp_allows_icons_from_the_site(client):
    icon = client.get("/static/favicon.svg")
    csp = client.get("/")["Content-Security-Policy"]

    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)
    img_src = next(part for part in csp.split(";") if part.strip().startswith("img-src"))
    assert "'self'" in img_src
