"""Every URL pattern of the project's urlconf, made concrete.

`concrete_urls(fill)` walks `get_resolver().url_patterns` recursively and returns one path
per pattern, its arguments filled from `fill` (argument name -> value) or from a per-route
override, and checks that each path resolves back to the pattern it came from, so a new
pattern is swept the day it is added and a wrong fill fails loudly instead of testing a 404.
"""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

_ROUTE_ARG = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_ARG = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()]|\([^()]*\))*\)")


# Patterns that an earlier one answers on purpose, by URL name: allauth's OpenID Connect
# callback is served by ours at the same address (the ID token's signature always checked,
# accounts.organisations.sso). Each still has to resolve to its named replacement.
SHADOWED = {"openid_connect_callback": "accounts:sso_callback"}


@dataclass(frozen=True)
class SweptURL:
    route: str  # the pattern as written, for messages
    name: str  # namespaced URL name, or the route when the pattern has none
    path: str  # the concrete path, starting with "/"


def _fill(pattern: URLPattern | URLResolver, values: dict[str, str]) -> str:
    """The pattern's own part of the path, its arguments replaced by `values`."""
    text = str(pattern.pattern)
    if isinstance(pattern.pattern, RoutePattern):
        return _ROUTE_ARG.sub(lambda match: values[match["name"]], text)
    text = text.removeprefix("^").removesuffix("$")
    return _REGEX_ARG.sub(lambda match: values[match["name"]], text)


def _walk(patterns, prefix: str, route: str, namespace: str, values: dict[str, dict[str, str]]):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(
                pattern.url_patterns, prefix + _fill(pattern, values[""]),
                route + str(pattern.pattern), inner, values,
            )  # fmt: skip
        else:
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            full_route = route + str(pattern.pattern)
            own = values.get(name or full_route, values[""])
            yield full_route, name or full_route, prefix + _fill(pattern, own), pattern


def concrete_urls(
    fill: dict[str, str], overrides: dict[str, dict[str, str]] | None = None
) -> list[SweptURL]:
    """One concrete path per pattern; `overrides[name]` replaces argument values for the
    pattern with that URL name (a topic slug where the default slug is a report's)."""
    values = {"": fill} | {name: {**fill, **own} for name, own in (overrides or {}).items()}
    urls = []
    for route, name, filled, pattern in _walk(get_resolver().url_patterns, "", "", "", values):
        path = "/" + filled
        match = resolve(path)
        if name in SHADOWED:
            assert match.view_name == SHADOWED[name], f"{path} resolves to {match.view_name}"
        else:
            assert match.func == pattern.callback or (
                getattr(match.func, "__wrapped__", None)
                is getattr(pattern.callback, "__wrapped__", 1)
            ), f"{path} (filled from {route}) resolves to {match.view_name}, not to {name}"
        urls.append(SweptURL(route=route, name=name, path=path))
    return urls
