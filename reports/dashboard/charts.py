"""Each figure drawn as an SVG chart on the server, with pygal.

The SVG is served as an image from a staff-only address (`views.figure_chart`) rather than
inlined in the page: pygal writes a `<style>` element and a configuration `<script>`, which
the site's policy (no inline styles or scripts) would block in the page. As an image its
styles apply and no script ever runs; the script is taken out all the same. Colours suit a
light and a dark page: series in mid tones, and text and guide lines switched by a
`prefers-color-scheme` rule inside the SVG, which an SVG image follows like its page.
"""

from collections.abc import Callable
from decimal import Decimal
from xml.etree import ElementTree

import pygal
from pygal.etree import etree as pygal_etree
from pygal.graph.graph import Graph
from pygal.style import Style

from reports.dashboard.figures import Figures, major_units

# pygal builds its tree with lxml whenever lxml is installed (python3-saml brings it), and the
# charts are finished here with the standard library's ElementTree: one kind of tree only.
pygal_etree.to_etree()

# The site's palette (static/css/site.css): text for light pages, overridden for dark ones.
_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#16181d",
    foreground_strong="#16181d",
    foreground_subtle="#8a93a2",
    opacity="0.85",
    opacity_hover="1",
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    title_font_size=18,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
    # Distinguishable in both schemes and for the common colour-vision deficiencies.
    colors=("#2f7fd8", "#e08a00", "#1a9e77", "#d1495b", "#8f6ed5", "#7a8594"),
)
_DARK_CSS = (
    "inline:@media (prefers-color-scheme: dark) {"
    " text, .title, .legends .legend text, .axis text { fill: #e9ecf1 !important; }"
    " .axis .line, .axis .guides .line, .guide.line { stroke: #5a6270 !important; }"
    " .axis .major.line, .axis .major.guide.line { stroke: #aab2bf !important; }"
    "}"
)


def _chart(kind: type[Graph], **options: object) -> Graph:
    config = {
        "style": _STYLE,
        "width": 900,
        "height": 420,
        "disable_xml_declaration": True,
        "js": [],
        "show_legend": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "print_values": False,
        "truncate_label": -1,  # titles are shortened by `_label`, on a word
        "truncate_legend": -1,
        "x_label_rotation": 0,
        "margin": 16,
        "margin_bottom": 32,  # room for the legend's last row
        "no_data_text": "Nothing counted in these months",
        **options,
    }
    return kind(css=["file://style.css", "file://graph.css", _DARK_CSS], **config)


def _money(amount: int, currency: str) -> float:
    return float(major_units(amount, currency))


def _members(figures: Figures) -> Graph:
    chart = _chart(pygal.Line, title="Members by status at each month's end", dots_size=3)
    chart.x_labels = figures.period.labels
    for status in ("active", "trialing", "past_due", "canceled"):
        chart.add(status.replace("_", " "), [m.by_status[status] for m in figures.members])
    return chart


def _plans(figures: Figures) -> Graph:
    chart = _chart(pygal.Line, title="Plans held and team seats", dots_size=3)
    chart.x_labels = figures.period.labels
    chart.add("monthly", [m.by_plan["monthly"] for m in figures.members])
    chart.add("annual", [m.by_plan["annual"] for m in figures.members])
    chart.add("team seats", [m.seats for m in figures.members])
    chart.add("team licences", [m.organisations for m in figures.members])
    return chart


def _mrr(figures: Figures) -> Graph:
    chart = _chart(pygal.Line, title="MRR at each month's end", dots_size=3, include_x_axis=True)
    chart.x_labels = figures.period.labels
    for currency in sorted({r.currency for r in figures.revenue}):
        chart.add(
            f"MRR ({currency.upper()})",
            [_money(r.mrr_end, currency) for r in figures.revenue if r.currency == currency],
        )
    return chart


def _movements(figures: Figures) -> Graph:
    chart = _chart(pygal.Bar, title="MRR movements per month")
    chart.x_labels = figures.period.labels
    for currency in sorted({r.currency for r in figures.revenue}):
        months = [r for r in figures.revenue if r.currency == currency]
        suffix = f" ({currency.upper()})"
        chart.add("new" + suffix, [_money(r.new, currency) for r in months])
        chart.add("expansion" + suffix, [_money(r.expansion, currency) for r in months])
        chart.add("contraction" + suffix, [-_money(r.contraction, currency) for r in months])
        chart.add("churn" + suffix, [-_money(r.churn, currency) for r in months])
    return chart


def _churn(figures: Figures) -> Graph:
    chart = _chart(pygal.Line, title="Revenue churn per month (%)", dots_size=3)
    chart.x_labels = figures.period.labels
    for currency in sorted({r.currency for r in figures.revenue}):
        months = [r for r in figures.revenue if r.currency == currency]
        suffix = f" ({currency.upper()})"
        chart.add("gross" + suffix, [_pct(r.gross_churn) for r in months])
        chart.add("net" + suffix, [_pct(r.net_churn) for r in months])
    return chart


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else round(float(value * 100), 1)


def _label(title: str, limit: int = 44) -> str:
    if len(title) <= limit:
        return title
    return title[:limit].rsplit(" ", 1)[0].rstrip(" ,:;") + "…"


def _funnel(figures: Figures) -> Graph:
    # Each step is a few percent of the one before: only a logarithmic axis shows all three.
    chart = _chart(pygal.HorizontalBar, logarithmic=True, show_minor_x_labels=False,
                   title="Paywall views, checkouts and paid, per report (log scale)",
                   height=max(420, 80 + 46 * len(figures.funnel)))  # fmt: skip
    rows = list(reversed(figures.funnel))  # the largest at the top
    chart.x_labels = [_label(r.title) for r in rows]
    chart.add("paywall views", [r.paywall_views or None for r in rows])
    chart.add("checkouts started", [r.checkouts_started or None for r in rows])
    chart.add("paid", [r.subscriptions_paid or None for r in rows])
    return chart


def _reads(figures: Figures) -> Graph:
    chart = _chart(pygal.HorizontalStackedBar, title="Reads per report",
                   height=max(420, 60 + 36 * len(figures.reads)))  # fmt: skip
    rows = list(reversed(figures.reads))
    chart.x_labels = [_label(r.title) for r in rows]
    chart.add("public reads", [r.public_reads for r in rows])
    chart.add("entitled reads", [r.entitled_reads for r in rows])
    return chart


def _newsletter(figures: Figures) -> Graph:
    # Both axes from zero: a right axis starting at its lowest value would exaggerate.
    chart = _chart(pygal.Bar, title="Newsletter: signups, confirmations, unsubscribes",
                   include_x_axis=True)  # fmt: skip
    chart.x_labels = figures.period.labels
    chart.add("signups", [n.signups for n in figures.newsletter])
    chart.add("confirmations", [n.confirmations for n in figures.newsletter])
    chart.add("unsubscribes", [n.unsubscribes for n in figures.newsletter])
    chart.add("receiving (right axis)", [n.receiving for n in figures.newsletter], secondary=True)
    return chart


def _deliveries(figures: Figures) -> Graph:
    chart = _chart(pygal.HorizontalStackedBar, title="Notification emails by status",
                   height=max(420, 60 + 36 * len(figures.notifications)))  # fmt: skip
    rows = list(reversed(figures.notifications))
    chart.x_labels = [_label(n.title) for n in rows]
    chart.add("sent", [n.sent for n in rows])
    chart.add("skipped", [n.skipped for n in rows])
    chart.add("failed", [n.failed for n in rows])
    chart.add("waiting", [n.waiting for n in rows])
    return chart


def _outcomes(figures: Figures) -> Graph:
    chart = _chart(pygal.HorizontalBar, title="Deliveries by provider outcome",
                   height=max(420, 60 + 48 * len(figures.outcomes)))  # fmt: skip
    rows = list(reversed(figures.outcomes))
    chart.x_labels = [_label(o.title) for o in rows]
    chart.add("delivered", [o.delivered for o in rows])
    chart.add("opened", [o.opened for o in rows])
    chart.add("clicked", [o.clicked for o in rows])
    chart.add("bounced", [o.bounced + o.soft_bounced for o in rows])
    chart.add("complained", [o.complained for o in rows])
    chart.add("rejected", [o.rejected for o in rows])
    return chart


def _cancellations(figures: Figures) -> Graph:
    chart = _chart(pygal.HorizontalBar, title="Cancellation reasons", show_legend=False)
    rows = list(reversed(figures.cancellations))
    chart.x_labels = [reason for reason, _ in rows]
    chart.add("cancellations", [count for _, count in rows])
    return chart


CHARTS: dict[str, Callable[[Figures], Graph]] = {
    "members": _members,
    "plans": _plans,
    "mrr": _mrr,
    "movements": _movements,
    "churn": _churn,
    "funnel": _funnel,
    "reads": _reads,
    "newsletter": _newsletter,
    "deliveries": _deliveries,
    "outcomes": _outcomes,
    "cancellations": _cancellations,
}


def chart_svg(slug: str, figures: Figures) -> bytes:
    """The figure's chart as a standalone SVG document, without pygal's script."""
    tree = CHARTS[slug](figures).render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return _serialise(tree)


def _serialise(tree: ElementTree.Element) -> bytes:
    return ElementTree.tostring(tree, encoding="utf-8", xml_declaration=True)
