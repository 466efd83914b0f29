"""Amounts as Stripe gives them (an integer in the currency's smallest unit) shown to readers."""

# Stripe's zero-decimal currencies: their amounts are whole units already (¥500 is 500).
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
     "xaf", "xof", "xpf"}
)  # fmt: skip
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}


def money_display(amount: int, currency: str) -> str:
    """`2900, "usd"` as "$29.00"; a currency without a symbol here as "29.00 CHF"."""
    code = (currency or "").lower()
    units = f"{amount:,}" if code in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    if code in SYMBOLS:
        return f"{SYMBOLS[code]}{units}"
    return f"{units} {code.upper()}".strip()
