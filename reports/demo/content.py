"""Original demo content for Gridline Research: topics, authors, readers and reports.

Every product, company, person and measurement in this package is invented for demonstration
purposes. Teasers are public; bodies (`bodies/<slug>.md`) are the subscriber-only
continuation of each report. Publication times are days before the load at a local time of
day, so the archive always ends in the last few days; a report with `days_ago` below 1 is
scheduled that many days ahead instead.
"""

from functools import cache
from pathlib import Path
from typing import Final, TypedDict

BODIES: Final = Path(__file__).resolve().parent / "bodies"

TOPICS: Final = [
    {
        "slug": "solar-inverters",
        "name": "Solar inverters",
        "description": (
            "Bench and field tests of string and hybrid inverters, from conversion efficiency "
            "to firmware behaviour."
        ),
    },
    {
        "slug": "home-batteries",
        "name": "Home batteries",
        "description": (
            "Capacity, round-trip losses, ageing and safety of residential battery storage."
        ),
    },
    {
        "slug": "heat-pumps",
        "name": "Heat pumps",
        "description": (
            "Measured seasonal performance, noise and commissioning practice for domestic "
            "heat pumps."
        ),
    },
    {
        "slug": "ev-chargers",
        "name": "EV chargers",
        "description": (
            "Home wallboxes and bidirectional chargers, tested for losses, standby draw and "
            "grid behaviour."
        ),
    },
    {
        "slug": "standards-policy",
        "name": "Standards & policy",
        "description": (
            "Grid codes, product rules, recalls and the regulatory changes that decide what "
            "installers may fit."
        ),
    },
]


class DemoAuthor(TypedDict):
    key: str
    email: str
    display_name: str
    company: str
    superuser: bool
    initials: str
    colour: str  # the portrait's background
    bio: str


AUTHORS: Final[list[DemoAuthor]] = [
    {
        "key": "maren",
        "email": "editor@example.com",
        "display_name": "Maren Okafor",
        "company": "Gridline Research",
        "superuser": True,
        "initials": "MO",
        "colour": "#7a2e5c",
        "bio": """\
Maren Okafor is the editor of Gridline Research. She spent eight years as an electrical
installer and site manager before moving into trade journalism, and she has led our
investigations into firmware updates, product recalls and grid-code changes since the first
issue.

She reads every comment under her reports, and most of our corrections start there.
""",
    },
    {
        "key": "tomas",
        "email": "lab@example.com",
        "display_name": "Tomas Lindqvist",
        "company": "Gridline Research",
        "superuser": True,
        "initials": "TL",
        "colour": "#1d6b3a",
        "bio": """\
Tomas Lindqvist runs the Gridline test lab, where every bench figure in our tests and
shootouts is measured. An electrical engineer, he designed inverter test rigs for a
certification body for eleven years before joining us.

He writes the method section of every lab report first and the verdict last, and he will
happily send you the raw logs behind any table.
""",
    },
    {
        "key": "ingrid",
        "email": "ingrid.halvorsen@example.com",
        "display_name": "Ingrid Halvorsen",
        "company": "Gridline Research",
        "superuser": False,
        "initials": "IH",
        "colour": "#0b5cad",
        "bio": """\
Ingrid Halvorsen covers heat pumps and building services. A chartered building services
engineer, she commissioned air-to-water and ground-source systems for a decade before
joining Gridline, and she still spends a day a week on site.

Her field work covers noise, flow temperatures and what happens to a system on its first
properly cold night.
""",
    },
    {
        "key": "dev",
        "email": "dev.raghunathan@example.com",
        "display_name": "Dev Raghunathan",
        "company": "Gridline Research",
        "superuser": False,
        "initials": "DR",
        "colour": "#8a4b08",
        "bio": """\
Dev Raghunathan writes about EV charging, smart-charging rules and how network operators
cope with new load. He previously worked in a distribution network operator's connections
team, assessing applications for chargers and heat pumps.

That is where he learned to read a grid code clause by clause, and why our charger tests
always include what the network sees.
""",
    },
    {
        "key": "lucia",
        "email": "lucia.ferreira@example.com",
        "display_name": "Lucía Ferreira",
        "company": "Gridline Research",
        "superuser": False,
        "initials": "LF",
        "colour": "#2f5d6b",
        "bio": """\
Lucía Ferreira covers home batteries: ageing, safety, recalls and warranties. She holds a
doctorate in electrochemistry and spent six years in a cell-testing laboratory before she
turned to journalism.

She runs Gridline's long-term battery cycling programme with the lab team, and she is the
person manufacturers call when our capacity figures disagree with theirs.
""",
    },
]


class DemoReader(TypedDict):
    key: str
    email: str
    display_name: str
    company: str
    membership: str | None  # a Stripe subscription status, or None for a free reader


READERS: Final[list[DemoReader]] = [
    {
        "key": "subscriber",
        "email": "subscriber@example.com",
        "display_name": "Sam Subscriber",
        "company": "Northwind Installers",
        "membership": "active",
    },
    {
        "key": "reader",
        "email": "reader@example.com",
        "display_name": "Fran Freereader",
        "company": "",
        "membership": None,
    },
    # Subscribers who join the discussions under the reports.
    {
        "key": "priya",
        "email": "priya.raman@example.com",
        "display_name": "Priya Raman",
        "company": "Raman Solar & Storage",
        "membership": "active",
    },
    {
        "key": "dafydd",
        "email": "dafydd.morgan@example.com",
        "display_name": "Dafydd Morgan",
        "company": "Morgan Renewables",
        "membership": "active",
    },
    {
        "key": "ilse",
        "email": "ilse.verhoeven@example.com",
        "display_name": "Ilse Verhoeven",
        "company": "Verhoeven Installatietechniek",
        "membership": "active",
    },
    {
        "key": "jonas",
        "email": "jonas.becker@example.com",
        "display_name": "Jonas Becker",
        "company": "Becker Haustechnik",
        "membership": "active",
    },
    {
        "key": "amara",
        "email": "amara.nwosu@example.com",
        "display_name": "Amara Nwosu",
        "company": "Westmere Networks",
        "membership": "active",
    },
    {
        "key": "kwame",
        "email": "kwame.asante@example.com",
        "display_name": "Kwame Asante",
        "company": "Asante Energy Consulting",
        "membership": "active",
    },
    {
        "key": "hannah",
        "email": "hannah.kowalski@example.com",
        "display_name": "Hannah Kowalski",
        "company": "Kowalski Heating",
        "membership": "active",
    },
    # The admin of a team licence (Northwind Installers, reports/demo/history.py), whose
    # team page shows its members' use of it.
    {
        "key": "team",
        "email": "team@example.com",
        "display_name": "Tess Lindqvist",
        "company": "Northwind Installers",
        "membership": None,
    },
]

# Confirmed newsletter subscribers, so publishing a report in `make run` prints emails.
NEWSLETTER_READERS: Final = ["subscriber", "reader"]


class DemoReport(TypedDict):
    slug: str
    title: str
    kind: str
    topics: list[str]
    author: str
    is_free: bool
    days_ago: int  # below 1: scheduled, -days_ago days after the load
    at: str  # local time of day, "07:58"
    cover_count: int  # how many things the cover's motif shows (bars, lines, steps)
    cover_alt: str
    teaser: str


@cache
class DemoImage(TypedDict):
    key: str
    alt: str
    caption: str


# Library images the bodies show: a body names one as `![alt](demo-image:<key>)`, which the
# loader turns into the library's `image:<id>` once the image is stored.
IMAGES: Final[list[DemoImage]] = [
    {
        "key": "inverter-bench",
        "alt": "Illustration of a test bench: a white hybrid inverter with a green display and "
        "its nameplate, wired with red, black and blue cables to a four-channel power analyser",
        "caption": "The bench every inverter in our guides was measured on",
    },
]


def body(slug: str) -> str:
    return (BODIES / f"{slug}.md").read_text(encoding="utf-8").strip()


REPORTS: Final[list[DemoReport]] = [
    {
        "slug": "battery-capacity-fade-two-years",
        "title": "Two years of capacity fade: what three home batteries actually lost",
        "kind": "investigation",
        "topics": ["home-batteries"],
        "author": "lucia",
        "is_free": False,
        "days_ago": 205,
        "at": "09:30",
        "cover_count": 3,
        "cover_alt": (
            "Cover illustration: scattered dots drifting downwards across a deep red grid, "
            "with a sloping trend line and three circled points, for three batteries losing "
            "capacity."
        ),
        "teaser": """\
Spec sheets promise 70 % capacity after ten years. We have been cycling three home batteries in a
temperature-controlled room for two years, with a full capacity check every six months.

After 24 months and roughly 730 equivalent full cycles, two units are on track. The third is
fading fast enough that it could miss its warranty threshold years before the warranty ends.
""",
    },
    {
        "slug": "cold-climate-heat-pump-cop-test",
        "title": "Three air-to-water heat pumps at -15 °C: COP measured, not quoted",
        "kind": "test",
        "topics": ["heat-pumps"],
        "author": "ingrid",
        "is_free": False,
        "days_ago": 183,
        "at": "06:55",
        "cover_count": 3,
        "cover_alt": (
            "Cover illustration: three smooth measurement curves with sample points across a "
            "green grid, one highlighted, for three heat pumps measured at four temperatures."
        ),
        "teaser": """\
Manufacturers quote COP at +7 °C because it flatters everyone. We put three 7–9 kW monobloc heat
pumps in a climate chamber and measured them at four outdoor temperatures down to -15 °C, with a
35 °C flow and every defrost cycle included.

At the cold end, the ranking is the reverse of what the datasheets suggest.
""",
    },
    {
        "slug": "hybrid-inverter-shootout",
        "title": "Hybrid inverter shootout: five units, 400 hours on the bench",
        "kind": "shootout",
        "topics": ["solar-inverters", "home-batteries"],
        "author": "tomas",
        "is_free": False,
        "days_ago": 170,
        "at": "08:45",
        "cover_count": 5,
        "cover_alt": (
            "Cover illustration: five bars of different heights on a blue grid, the first "
            "highlighted, for the five hybrid inverters compared."
        ),
        "teaser": """\
We ran five 6–10 kW hybrid inverters through the same 400-hour bench protocol: weighted
conversion efficiency, battery round-trip losses, standby draw, backup switchover and noise.
Two units are clearly worth specifying. One should not be on a quote sheet at all.

The spread between the best and worst weighted efficiency was 2.5 points, enough to cost a
typical 8 kWp system around 200 kWh a year.
""",
    },
    {
        "slug": "ev-charger-standby-power",
        "title": "The hidden meter: standby draw of six wallbox chargers",
        "kind": "investigation",
        "topics": ["ev-chargers", "standards-policy"],
        "author": "dev",
        "is_free": False,
        "days_ago": 158,
        "at": "11:45",
        "cover_count": 6,
        "cover_alt": (
            "Cover illustration: a cloud of small dots with three circled outliers and a "
            "trend line on a deep red grid, for six chargers' idle draw."
        ),
        "teaser": """\
A home wallbox spends more than 90 % of its life doing nothing. We measured what six chargers
draw while they wait, with and without a car connected, and with their network links in every
mode the firmware allows.

The worst unit idles away 110 kWh a year, roughly what an efficient fridge-freezer uses in six
months. None of the six datasheets gave an honest figure.
""",
    },
    {
        "slug": "heat-pump-commissioning-checklist",
        "title": "The heat pump commissioning checklist we use in the field",
        "kind": "guide",
        "topics": ["heat-pumps"],
        "author": "tomas",
        "is_free": False,
        "days_ago": 141,
        "at": "07:20",
        "cover_count": 5,
        "cover_alt": (
            "Cover illustration: five blocks rising like a staircase on a purple grid, the "
            "last highlighted, for the stages of commissioning."
        ),
        "teaser": """\
Most of the heat pump complaints we investigate trace back to the day the system was
commissioned, not to the hardware. This is the checklist our lab team uses on every field-trial
installation, with the measured tolerances we hold ourselves to and the reasons behind each one.
""",
    },
    {
        "slug": "ev-charger-randomised-delay-rule",
        "title": "Smart-charging rules: the randomised start delay arrives for every new wallbox",
        "kind": "news",
        "topics": ["ev-chargers", "standards-policy"],
        "author": "dev",
        "is_free": False,
        "days_ago": 140,
        "at": "17:05",
        "cover_count": 2,
        "cover_alt": (
            "Cover illustration: rows of rounded bars like lines of type on a slate grey "
            "grid, two of them highlighted."
        ),
        "teaser": """\
From the start of next quarter, every newly installed home charger must delay the start of a
scheduled or off-peak charge by a random interval of up to ten minutes, and ship with
default charging hours outside the evening peak.

Most current models can comply with a firmware update. Installers will still have to explain
to customers why their car no longer starts charging on the stroke of midnight.
""",
    },
    {
        "slug": "home-battery-sizing-guide",
        "title": "Sizing a home battery from half-hourly data, step by step",
        "kind": "guide",
        "topics": ["home-batteries"],
        "author": "lucia",
        "is_free": True,
        "days_ago": 127,
        "at": "12:25",
        "cover_count": 4,
        "cover_alt": (
            "Cover illustration: four blocks rising like a staircase on a purple grid, the "
            "last highlighted, for the steps of the sizing method."
        ),
        "teaser": """\
Most oversized home batteries were sized from an annual consumption figure and a rule of thumb.
A year of half-hourly meter data, a spreadsheet and an hour of work give a far better answer.

This guide walks through the method we use, with a worked example for a typical four-person
house and the two corrections most sizing tools leave out.
""",
    },
    {
        "slug": "bidirectional-charger-field-trial",
        "title": "Bidirectional charging in a detached house: the Tellan Duo field trial",
        "kind": "test",
        "topics": ["ev-chargers", "home-batteries"],
        "author": "dev",
        "is_free": False,
        "days_ago": 112,
        "at": "09:50",
        "cover_count": 2,
        "cover_alt": (
            "Cover illustration: two smooth measurement curves with sample points crossing a "
            "green grid, for energy into and out of a car over ten weeks."
        ),
        "teaser": """\
We ran the Tellan Duo bidirectional wallbox for ten weeks in a detached house with an 11 kWp roof
and a compatible car with a 64 kWh battery, powering the home from the vehicle every evening.

Round-trip losses were larger than the marketing implies, and the charger's own standby draw
eats a surprising share of the benefit.
""",
    },
    {
        "slug": "inverter-datasheet-guide",
        "title": "Reading an inverter datasheet: the six numbers that matter and the ones that don't",
        "kind": "guide",
        "topics": ["solar-inverters"],
        "author": "tomas",
        "is_free": True,
        "days_ago": 96,
        "at": "15:30",
        "cover_count": 6,
        "cover_alt": (
            "Cover illustration: six blocks rising like a staircase on a purple grid, the "
            "last highlighted, for the six datasheet figures the guide explains."
        ),
        "teaser": """\
An inverter datasheet runs to two pages of figures, and most of them are measured under
conditions your customer's roof will never see. Six of them decide how the unit performs in a
house; a few others are close to meaningless.

This is how our lab reads a datasheet before a unit goes on the bench, with what each figure
predicted in our tests and what it missed.
""",
    },
    {
        "slug": "heat-pump-noise-neighbours-investigation",
        "title": "Heat pump noise at the neighbour's window: we measured 14 installations",
        "kind": "investigation",
        "topics": ["heat-pumps", "standards-policy"],
        "author": "ingrid",
        "is_free": False,
        "days_ago": 78,
        "at": "10:10",
        "cover_count": 4,
        "cover_alt": (
            "Cover illustration: scattered dots around a rising trend line on a deep red "
            "grid, two circled, for noise levels measured at fourteen homes."
        ),
        "teaser": """\
Noise complaints are now the most common reason a heat pump installation ends up in front of a
planning officer. We measured fourteen working installations at the nearest neighbouring window,
at night, with the units at the output they actually run at on a cold evening.

Five exceeded the 42 dB(A) figure most planning rules assume. In every one of them, the cause
was the siting or the mounting, not the machine.
""",
    },
    {
        "slug": "aurel-h8-long-term-test",
        "title": "Aurel H8 after six months in a real house",
        "kind": "test",
        "topics": ["solar-inverters"],
        "author": "tomas",
        "is_free": False,
        "days_ago": 52,
        "at": "08:10",
        "cover_count": 3,
        "cover_alt": (
            "Cover illustration: three smooth measurement curves with sample points across a "
            "green grid, for six months of logged inverter data."
        ),
        "teaser": """\
The Aurel H8 won our bench shootout. We then installed one in a four-person household with a
7.6 kWp roof and a 10 kWh battery and left the logger running for 182 days.

The headline numbers held up. The firmware, the app and one terminal block did not behave
nearly as well, and each of them has a consequence for how you commission and service the unit.
""",
    },
    {
        "slug": "installer-roundtable-hybrid-inverters",
        "title": "Installer roundtable: what the shootout numbers mean on a roof",
        "kind": "show",
        "topics": ["solar-inverters"],
        "author": "maren",
        "is_free": False,
        "days_ago": 49,
        "at": "13:00",
        "cover_count": 4,
        "cover_alt": (
            "Cover illustration: sound waves spreading from one point towards four circles on "
            "a warm brown grid, for a conversation between four panellists."
        ),
        "teaser": """\
Three working installers and our lab lead went through the hybrid inverter shootout results
and argued about what actually matters on a job: efficiency points, standby watts, switchover
times, or how long a unit takes to commission and how often it brings you back to site.

This is the edited conversation, with each panellist's pick.
""",
    },
    {
        "slug": "heat-pump-noise-limit-proposal",
        "title": "Planning rules: proposed 42 dB(A) limit would be measured at the window, not the boundary",
        "kind": "news",
        "topics": ["heat-pumps", "standards-policy"],
        "author": "dev",
        "is_free": False,
        "days_ago": 45,
        "at": "14:15",
        "cover_count": 3,
        "cover_alt": (
            "Cover illustration: rows of rounded bars like lines of type on a slate grey "
            "grid, a few of them highlighted."
        ),
        "teaser": """\
The planning department's proposed update to the permitted-development rules for heat pumps
keeps the 42 dB(A) noise limit, but moves the point where it is assessed from the property
boundary to the nearest habitable-room window, and drops the one-metre distance rule.

Installers gain flexibility on small plots. They also take on a calculation that, on our
measurements, many current surveys get wrong.
""",
    },
    {
        "slug": "inverter-firmware-rollback-investigation",
        "title": "Silent firmware rollbacks: how one inverter fleet lost its export settings",
        "kind": "investigation",
        "topics": ["solar-inverters", "standards-policy"],
        "author": "maren",
        "is_free": False,
        "days_ago": 33,
        "at": "07:40",
        "cover_count": 5,
        "cover_alt": (
            "Cover illustration: scattered dots and a falling trend line on a deep red grid, "
            "with circled outliers, for inverters that lost their settings."
        ),
        "teaser": """\
Over three weeks, installers on one regional network reported hybrid inverters exporting above
their agreed limits. We traced the cause to an over-the-air update that restored factory
parameters on part of the fleet, and to an update process that told nobody it had done so.
""",
    },
    {
        "slug": "home-battery-fire-incidents-investigation",
        "title": "Home battery fires: what 38 incident reports say about where batteries go",
        "kind": "investigation",
        "topics": ["home-batteries", "standards-policy"],
        "author": "lucia",
        "is_free": False,
        "days_ago": 24,
        "at": "10:35",
        "cover_count": 6,
        "cover_alt": (
            "Cover illustration: a cloud of dots with three circled clusters and a trend line "
            "on a deep red grid, for incident reports grouped by cause."
        ),
        "teaser": """\
Home battery fires are rare, and the handful that make the news tell you little. We obtained
38 fire-service incident reports involving residential battery systems and read every one,
with two fire investigators and a cell chemist.

The cells were rarely where it started. Installation location, cabling and a surprising number
of second-hand batteries were.
""",
    },
    {
        "slug": "wallbox-shootout",
        "title": "Seven home wallboxes on the bench: losses, load balancing and fault protection",
        "kind": "shootout",
        "topics": ["ev-chargers"],
        "author": "dev",
        "is_free": False,
        "days_ago": 11,
        "at": "06:30",
        "cover_count": 7,
        "cover_alt": (
            "Cover illustration: seven bars of different heights on a blue grid, the first "
            "highlighted, for the seven wallboxes compared."
        ),
        "teaser": """\
We put seven 7–11 kW home chargers through the same bench programme: conversion losses at
three charging currents, standby draw, how fast dynamic load balancing reacts to a kettle and
an oven, and whether the built-in DC fault protection trips when it should.

Every unit charges a car. Only three of them protect a house with a 60 A supply the way the
datasheets promise.
""",
    },
    {
        "slug": "hengchuan-vault-10-module-recall",
        "title": "Hengchuan recalls Vault 10 battery modules from two production weeks",
        "kind": "news",
        "topics": ["home-batteries", "standards-policy"],
        "author": "lucia",
        "is_free": False,
        "days_ago": 8,
        "at": "09:05",
        "cover_count": 2,
        "cover_alt": (
            "Cover illustration: rows of rounded bars like lines of type on a slate grey "
            "grid, two of them highlighted."
        ),
        "teaser": """\
Hengchuan Energy Storage has issued a voluntary recall of Vault 10 battery modules built in weeks
14 and 15 of last year, citing a cell-tab welding defect that can cause localised heating.

The manufacturer says no fires have been reported. Installers with Vault 10 systems on their
books need to check serial numbers now, not at the next service visit.
""",
    },
    {
        "slug": "tarnfield-hv7-firmware-response",
        "title": "Tarnfield answers the shootout: firmware 1.8 for the HV-7 cuts switchover to 14 ms",
        "kind": "news",
        "topics": ["solar-inverters"],
        "author": "tomas",
        "is_free": False,
        "days_ago": 6,
        "at": "11:20",
        "cover_count": 4,
        "cover_alt": (
            "Cover illustration: rows of rounded bars like lines of type on a slate grey "
            "grid, one row partly highlighted."
        ),
        "teaser": """\
Tarnfield has released firmware 1.8 for the HV-7 hybrid inverter, the unit we could not
recommend in our shootout, and sent us a production unit to check its claims.

On our bench the backup switchover fell from 35 ms to 14 ms and the fan behaves. The efficiency
deficit, which no firmware can fix, remains.
""",
    },
    {
        "slug": "export-limit-grid-code-revision",
        "title": "Draft grid-code revision would make dynamic export limits mandatory above 5 kW",
        "kind": "news",
        "topics": ["standards-policy", "solar-inverters"],
        "author": "maren",
        "is_free": True,
        "days_ago": 4,
        "at": "16:42",
        "cover_count": 3,
        "cover_alt": (
            "Cover illustration: rows of rounded bars like lines of type on a slate grey "
            "grid, a few of them highlighted."
        ),
        "teaser": """\
The network operators' joint draft revision of the connection code, published for consultation
this week, would require every new installation exporting more than 5 kW to accept dynamic export
limits set remotely by the operator.

The consultation closes in eight weeks. The proposed start date is eleven months away, which is
shorter than many product development cycles.
""",
    },
    {
        "slug": "heat-pump-shootout",
        "title": "Heat pump shootout: six monobloc units through a simulated winter",
        "kind": "shootout",
        "topics": ["heat-pumps"],
        "author": "ingrid",
        "is_free": False,
        "days_ago": 2,
        "at": "07:58",
        "cover_count": 6,
        "cover_alt": (
            "Cover illustration: six bars of different heights on a blue grid, the first "
            "highlighted, for the six heat pumps compared."
        ),
        "teaser": """\
Six 7–9 kW air-to-water monobloc heat pumps, one climate chamber and 1,150 hours of a
replayed winter: seasonal efficiency at two flow temperatures, output at -10 °C, defrost
behaviour, noise, and what each controller does when nobody has tuned it.

The best unit used 31 % less electricity than the worst over the same winter. Two of the six
only did well once we had rewritten their factory settings.
""",
    },
    # Scheduled: editors see these in the admin and on their pages before they go out.
    {
        "slug": "heat-pump-site-survey-noise-guide",
        "title": "Surveying a site for the window-based noise limit, step by step",
        "kind": "guide",
        "topics": ["heat-pumps", "standards-policy"],
        "author": "ingrid",
        "is_free": False,
        "days_ago": -2,
        "at": "07:30",
        "cover_count": 5,
        "cover_alt": (
            "Cover illustration: five blocks rising like a staircase on a purple grid, the "
            "last highlighted, for the five steps of a noise survey."
        ),
        "teaser": """\
The proposed noise rule for heat pumps moves the assessment point to the neighbour's window.
This guide turns that into a survey you can do in half an hour on a first visit: what to
measure, which correction factors to apply, and when to walk away from a location.
""",
    },
    {
        "slug": "export-limit-joint-installer-response",
        "title": "Installers' joint response to the export-limit draft asks for a public compliance list",
        "kind": "news",
        "topics": ["standards-policy", "solar-inverters"],
        "author": "maren",
        "is_free": False,
        "days_ago": -5,
        "at": "12:00",
        "cover_count": 4,
        "cover_alt": (
            "Cover illustration: rows of rounded bars like lines of type on a slate grey "
            "grid, part of one row highlighted."
        ),
        "teaser": """\
Three installers' trade bodies will submit one response to the draft grid-code revision on
dynamic export limits. They accept the rule, ask for eighteen months instead of eleven, and
want the network operators to publish which inverters comply before the start date.
""",
    },
]

# Slugs the demo used before; a load renames such a report instead of adding a second one.
RENAMED_SLUGS: Final = {"hybrid-inverter-shootout-2026": "hybrid-inverter-shootout"}


class DemoCorrection(TypedDict):
    days_ago: int  # after the report's own publication
    at: str
    note: str  # empty: a silent edit, kept in the history but never listed
    before: str  # text of the body before this save...
    after: str  # ...and what replaced it (the body in bodies/ holds every `after`)


# Saves made after publication, oldest first: the reports' history of updates and
# corrections. Reports citing these before the corrections show "cites a report updated".
CORRECTIONS: Final[dict[str, list[DemoCorrection]]] = {
    "ev-charger-standby-power": [
        {
            "days_ago": 90,
            "at": "11:20",
            "note": "",
            "before": "All six were bougth at retail",
            "after": "All six were bought at retail",
        },
        {
            "days_ago": 60,
            "at": "16:05",
            "note": "Corrected the analyser's uncertainty: ± 0.05 W, not ± 0.5 W.",
            "before": "The analyser's uncertainty at these power levels is ± 0.5 W.",
            "after": "The analyser's uncertainty at these power levels is ± 0.05 W.",
        },
        {
            "days_ago": 30,
            "at": "09:40",
            "note": "Corrected the error of the annual idle estimate: below 10 %, not 5 %.",
            "before": "the error is below 5 % for a typical commuter.",
            "after": "the error is below 10 % for a typical commuter.",
        },
    ],
    "battery-capacity-fade-two-years": [
        {
            "days_ago": 100,
            "at": "14:15",
            "note": "Corrected the Brightholm B9's cooling: its fan runs all the time.",
            "before": "| 9.0 | 8.6 | Fan, thermostatic |",
            "after": "| 9.0 | 8.6 | Fan, always on |",
        },
    ],
}


def body_before_corrections(slug: str) -> str:
    """The body as first published: every correction's text put back as it was."""
    text = body(slug)
    for correction in reversed(CORRECTIONS.get(slug, [])):
        text = text.replace(correction["after"], correction["before"], 1)
    return text
