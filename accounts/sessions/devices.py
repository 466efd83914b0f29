"""What a session's client was, in words a reader recognises, and the network it came from."""

import ipaddress
import re

# Order matters: Edge and Opera say "Chrome", Chrome says "Safari", Chromium on iOS says
# "CriOS" and Firefox on iOS "FxiOS".
_BROWSERS = [
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|HeadlessChrome/")),
    ("Safari", re.compile(r"Safari/")),
]
_SYSTEMS = [
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Macintosh|Mac OS X")),
    ("Linux", re.compile(r"Linux|X11")),
]


def device_summary(user_agent: str) -> str:
    """ "Firefox on Windows", "Safari on iPhone"; "Unknown browser" when the client did not
    say. A summary for the reader to tell their devices apart, never a security claim: a
    client may send any User-Agent."""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return "Unknown browser"


def network_of(ip: str) -> str:
    """The network an address belongs to, as one subscriber line or office sees it: its
    IPv4 /24 or IPv6 /48 ("203.0.113.0/24"). An IPv4-mapped IPv6 address counts as IPv4."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
