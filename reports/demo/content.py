"""Original demo content for Gridline Research.

Every product, company, person and measurement in this module is invented for demonstration
purposes. Teasers are public; bodies are the subscriber-only continuation of each report.
"""

from typing import Final, TypedDict

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

AUTHORS: Final = [
    {"key": "editor", "display_name": "Maren Okafor", "company": "Gridline Research"},
    {"key": "lab", "display_name": "Tomas Lindqvist", "company": "Gridline Research"},
]


class DemoReport(TypedDict):
    slug: str
    title: str
    kind: str
    topics: list[str]
    author: str
    is_free: bool
    days_ago: int
    teaser: str
    body: str


REPORTS: Final[list[DemoReport]] = [
    # ------------------------------------------------------------------------------------------
    {
        "slug": "hybrid-inverter-shootout-2026",
        "title": "The 2026 hybrid inverter shootout: five units, 400 hours on the bench",
        "kind": "shootout",
        "topics": ["solar-inverters", "home-batteries"],
        "author": "lab",
        "is_free": False,
        "days_ago": 21,
        "teaser": """\
We ran five 6–10 kW hybrid inverters through the same 400-hour bench protocol: weighted
conversion efficiency, battery round-trip losses, standby draw, backup switchover and noise.
Two units are clearly worth specifying. One should not be on a quote sheet at all.

The spread between the best and worst weighted efficiency was 2.5 points, enough to cost a
typical 8 kWp system around 200 kWh a year.
""",
        "body": """\
## How we tested

Every unit went onto the same rig and ran the same script, with firmware frozen at the version
shipped to distributors in February. The DC side was a programmable 12 kW source emulating two
strings; the battery port was fed by an emulator set to each unit's native voltage window; the
grid side was a four-quadrant simulator holding 230 V ± 0.5 %.

1. **Conversion efficiency** at 10, 20, 30, 50, 75 and 100 % of rated AC output, at low,
   nominal and high MPP voltage, weighted with the usual European coefficients.
2. **Battery round-trip**: 5 kWh charged from the PV input, then discharged to the AC port,
   with energy measured at the AC terminals.
3. **Standby draw**: night-time consumption from the grid with the battery at minimum state of
   charge and no house load.
4. **Backup switchover**: grid removed while the backup port carried 2 kW resistive; time to
   restored voltage recorded on an oscilloscope, twenty trials per unit.
5. **Noise**: A-weighted sound pressure at 1 m, full output, in a 35 °C chamber.

## Results

| Model | Rated AC (kW) | Weighted eff. (%) | Peak eff. (%) | Standby (W) | Round-trip (%) | Switchover (ms) | Noise at 1 m (dB(A)) |
|---|---:|---:|---:|---:|---:|---:|---:|
| Aurel H8 | 8.0 | 97.1 | 97.9 | 6.8 | 91.4 | 12 | 34 |
| Solvik Flex 8.2 | 8.2 | 96.8 | 97.7 | 9.5 | 92.1 | 20 | 38 |
| Kestrel HX-10 | 10.0 | 96.4 | 97.6 | 11.2 | 89.8 | 18 | 41 |
| Norvane Duo 6 | 6.0 | 95.2 | 96.9 | 4.1 | 90.6 | 8 | 29 |
| Tarnfield HV-7 | 7.0 | 94.6 | 96.3 | 14.9 | 87.3 | 35 | 45 |

![Bar chart of weighted conversion efficiency for five hybrid inverters, from 97.1 % for the Aurel H8 down to 94.6 % for the Tarnfield HV-7](/static/demo/inverter-efficiency.svg "Weighted efficiency, mean of three MPP voltages")

Weighted figures are the mean of the three MPP voltages. The spread across voltages was under
0.4 points for every unit except the Tarnfield, which lost 1.1 points at the low end of its
window.

### Aurel H8: best overall

The H8 led on weighted efficiency and was the second-quietest unit. Its 12 ms switchover kept a
desktop PC and a boiler controller running in all twenty grid-loss trials. The weak point is
standby: 6.8 W is acceptable, but the unit only enters its deeper sleep state when the battery
is above 15 % state of charge.

### Solvik Flex 8.2: best battery path

A 92.1 % round-trip is the best we have measured on a hybrid with a DC-coupled battery port. If
the customer will cycle the battery daily, the Solvik recovers most of its small efficiency
deficit against the Aurel.

### Norvane Duo 6: quiet and frugal, if 6 kW is enough

Lowest standby, lowest noise, fastest switchover. It is simply smaller; on roofs above 7 kWp it
clipped for up to three hours on our clear-spring irradiance profile.

### Kestrel HX-10: capable, thirsty at night

Performance under load is unremarkable in a good way. The 11.2 W standby costs roughly 50 kWh a
year from the grid on a twelve-hour average night.

### Tarnfield HV-7: not recommended

- Weighted efficiency 2.5 points behind the leader.
- The 35 ms switchover dropped at least one of our three test loads in 6 of 20 trials.
- The fan ran at full speed whenever output exceeded 60 %, producing the 45 dB(A) reading.
- The installation manual lists a battery voltage window 40 V wider than the unit accepted.

We have sent the Tarnfield results to the manufacturer and will publish any response in full.

## What to specify

- Default choice for 6–9 kWp roofs with a battery: **Aurel H8**.
- Heavy daily battery cycling: **Solvik Flex 8.2**.
- Small roofs, or units mounted next to bedrooms: **Norvane Duo 6**.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "aurel-h8-long-term-test",
        "title": "Aurel H8 after six months in a real house",
        "kind": "test",
        "topics": ["solar-inverters"],
        "author": "lab",
        "is_free": False,
        "days_ago": 9,
        "teaser": """\
The Aurel H8 won our bench shootout. We then installed one in a four-person household with a
7.6 kWp roof and a 10 kWh battery and left the logger running for 182 days.

The headline numbers held up. The firmware, the app and one terminal block did not behave
nearly as well, and each of them has a consequence for how you commission and service the unit.
""",
        "body": """\
## The installation

The house is a 1970s semi-detached with a 7.6 kWp east/west array in two strings of ten modules,
a 10 kWh lithium iron phosphate battery on the H8's DC port, and no heat pump yet. Consumption
over the previous twelve months was 4,350 kWh. We did not reuse the sample from
[the 2026 hybrid inverter shootout](/reports/hybrid-inverter-shootout-2026/); this was a retail
unit bought through a distributor, so nobody could hand-pick it.

### Metering

- Revenue-grade meter on the inverter AC output and on the grid connection.
- DC shunt on the battery cable, logged at 1 s.
- Thermal imaging of terminals at day 0, day 90 and day 182.

## Six months of data

| Month | PV yield (kWh) | Self-consumption (%) | Battery throughput (kWh) | Inverter standby (kWh) |
|---|---:|---:|---:|---:|
| October | 412 | 78 | 186 | 2.9 |
| November | 221 | 94 | 98 | 3.4 |
| December | 149 | 97 | 61 | 3.6 |
| January | 187 | 96 | 79 | 3.5 |
| February | 318 | 88 | 142 | 3.1 |
| March | 564 | 69 | 231 | 2.6 |

Measured conversion efficiency over the period, taken from the two meters, was 96.8 %, within
0.3 points of the bench figure. The winter standby numbers match the bench too, once you allow
for long nights: 6.8 W over a sixteen-hour December night comes to 3.4 kWh a month. The
remaining 0.2 kWh came from nights when the battery sat below 15 % and the unit refused to enter
deep sleep, exactly as the bench test predicted.

## What went wrong

1. **Firmware 2.14 reset the export limit.** An over-the-air update in week 9 restored the
   export limit to its factory default of "unlimited". The site has a 5 kW limit agreed with the
   network operator. We caught it from the logger within a day; a homeowner would not have.
2. **AC terminal relaxation.** At the 90-day inspection the L1 output terminal ran 19 K hotter
   than its neighbours. Its torque had fallen to 1.6 N·m against a specified 2.5 N·m. After
   re-torquing, the difference fell to 2 K and stayed there at day 182.
3. **App totals.** The app under-reported PV yield by a consistent 3.8 % against the revenue
   meter. Self-consumption figures in the app are therefore optimistic.

## Battery behaviour

The battery is not the subject of this review, but cell-level logs show no measurable capacity
loss after roughly 130 equivalent full cycles. For what to expect over a longer horizon, read
[our two-year capacity fade investigation](/reports/battery-capacity-fade-two-years/).

## Verdict

- Bench efficiency and switchover performance held up in a real house.
- Put an AC terminal re-torque on the first service visit.
- Until Aurel fixes 2.14, disable automatic updates or check the export settings after each one.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "battery-capacity-fade-two-years",
        "title": "Two years of capacity fade: what three home batteries actually lost",
        "kind": "investigation",
        "topics": ["home-batteries"],
        "author": "editor",
        "is_free": False,
        "days_ago": 47,
        "teaser": """\
Spec sheets promise 70 % capacity after ten years. We have been cycling three home batteries in a
temperature-controlled room for two years, with a full capacity check every six months.

After 24 months and roughly 730 equivalent full cycles, two units are on track. The third is
fading fast enough that it could miss its warranty threshold years before the warranty ends.
""",
        "body": """\
## Method

### Cycling regime

- A daily profile modelled on a real household: charge from a PV emulator between 10:00 and
  15:00, discharge into a recorded house-load profile from 17:00 onwards.
- Ambient held at 22 °C ± 1 K, except for a 30-day block each summer at 32 °C to mimic a
  garage installation.
- Battery management firmware updated only when the manufacturer flagged a safety fix.

### Capacity checks

Every six months each unit was taken out of the cycling schedule and measured:

1. Rest for 4 hours at 25 °C.
2. Charge to 100 % at the manufacturer's recommended rate.
3. Discharge at 0.3C until the battery management system cuts off, measuring DC energy at the
   battery terminals.
4. Repeat twice and report the mean.

## Results

| Unit | Nominal (kWh) | 0 mo (%) | 6 mo (%) | 12 mo (%) | 18 mo (%) | 24 mo (%) | Full cycles |
|---|---:|---:|---:|---:|---:|---:|---:|
| Lumora Cell 13 | 13.2 | 100.0 | 98.9 | 98.0 | 97.2 | 96.3 | 718 |
| Brightholm B9 | 9.0 | 100.0 | 98.1 | 96.7 | 95.6 | 94.5 | 731 |
| Hengchuan Vault 10 | 10.0 | 100.0 | 97.8 | 95.9 | 93.1 | 90.4 | 742 |

![Line chart of usable capacity over 24 months: Lumora Cell 13 ends at 96.3 %, Brightholm B9 at 94.5 % and Hengchuan Vault 10 at 90.4 %](/static/demo/battery-fade.svg "Capacity retained at each six-monthly check")

### Reading the curves

The Lumora and Brightholm units show the familiar shape: a quicker loss in the first months,
then a slow, almost linear decline. The Vault 10 did the opposite. It lost 2.8 and 2.7 points in
the last two half-years, against 1.9 and 2.2 before that.

A straight-line extrapolation of its last twelve months crosses 70 % at around month 68. Fade
usually slows with age, so that is a pessimistic bound; but even at half the current rate the
unit would reach 70 % in about year nine, inside a ten-year warranty.

### Heat is the likely driver

The steepest losses coincide with the 32 °C blocks. During those weeks the Vault 10 cells ran
6 K above ambient, against 3 K for the other two units. It is the only one of the three that
relies on passive cooling alone.

## What the manufacturer says

We sent our data to Hengchuan's European distributor, which forwarded a written statement from
the company's headquarters:

> 我们的电芯在正常使用条件下，十年后仍可保留至少百分之七十的容量。高温环境下的衰减不属于正常使用范围。
>
> *"Under normal operating conditions, our cells retain at least seventy percent of their
> capacity after ten years. Degradation in high-temperature environments falls outside normal
> use."* Hengchuan Energy Storage, written statement (our translation).

The warranty document defines normal operation as an ambient range of -10 to 40 °C. Our 32 °C
block sits comfortably inside it.

## What installers should do

- Do not put passively cooled batteries in unventilated garages or lofts that exceed 30 °C.
- Record cell temperature at commissioning and again in the first hot spell.
- Write the warranty's ambient range on the handover sheet, so the customer knows it exists.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "cold-climate-heat-pump-cop-test",
        "title": "Three air-to-water heat pumps at -15 °C: COP measured, not quoted",
        "kind": "test",
        "topics": ["heat-pumps"],
        "author": "lab",
        "is_free": False,
        "days_ago": 64,
        "teaser": """\
Manufacturers quote COP at +7 °C because it flatters everyone. We put three 7–9 kW monobloc heat
pumps in a climate chamber and measured them at four outdoor temperatures down to -15 °C, with a
35 °C flow and every defrost cycle included.

At the cold end, the ranking is the reverse of what the datasheets suggest.
""",
        "body": """\
## Test conditions

- Climate chamber controlled to ± 0.3 K, with relative humidity held at 85 % at +2 °C, the
  worst case for frosting.
- A water-side load bank holding 35 °C flow with a 5 K spread.
- Electrical input measured at the unit's supply terminals, including the controller, crankcase
  heater and defrost energy.
- Heat output calculated from a calibrated ultrasonic flow meter and a matched pair of PT100
  sensors.
- Each test point ran for three hours after stabilisation, so that defrost cycles are averaged
  in rather than edited out.

## Results

| Measurement | Fjellbrand AW9 | Veska Arctic 8 | Halden Eco 7 |
|---|---:|---:|---:|
| COP at +7 °C | 4.62 | 4.41 | 4.85 |
| COP at +2 °C | 3.71 | 3.58 | 3.66 |
| COP at -7 °C | 2.84 | 2.97 | 2.52 |
| COP at -15 °C | 2.21 | 2.46 | 1.88 |
| Heat output at -15 °C (kW) | 6.9 | 7.8 | 4.6 |
| Time spent defrosting at +2 °C (%) | 9 | 7 | 14 |
| Sound pressure at 1 m, -7 °C (dB(A)) | 52 | 55 | 49 |

![Line chart of COP against outdoor temperature for three heat pumps; the Halden Eco 7 starts highest at +7 °C and ends lowest at -15 °C](/static/demo/heatpump-cop.svg "COP at 35 °C flow, defrost included")

### Halden Eco 7

Best at +7 °C, worst at -15 °C. At the cold point its output fell to 4.6 kW, 66 % of the rated
7 kW, and the controller brought in the 3 kW electric backup heater after 40 minutes. We report
the COP without the backup heater; with it the system figure drops to 1.54. The Halden also
spent the longest time defrosting at +2 °C, which is where most heating hours fall in a
maritime climate.

### Veska Arctic 8

The vapour-injection compressor earns its keep below freezing. The Veska held 7.8 kW at -15 °C
and was the only unit that did not call for backup heat. The price is noise: 55 dB(A) at 1 m is
loud enough to require careful siting near a neighbour's window.

### Fjellbrand AW9

A sound all-rounder without a headline result. Its defrost control was the most predictable of
the three, with cycles every 52 to 58 minutes at +2 °C and no aborted defrosts.

## What it means for sizing

1. Size on measured output at the design outdoor temperature, never on rated output.
2. For annual running-cost estimates in cold regions, weight the -7 °C figure heavily; it is
   closer to the seasonal average than +7 °C.
3. Check defrost behaviour at +2 °C during commissioning. Frequent or aborted defrosts are an
   early warning of low flow or poor airflow around the coil.
4. Budget for backup heat on units whose output falls below the design heat loss. The kWh it
   uses belong in the customer's estimate.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "ev-charger-standby-power",
        "title": "The hidden meter: standby draw of six wallbox chargers",
        "kind": "investigation",
        "topics": ["ev-chargers", "standards-policy"],
        "author": "editor",
        "is_free": False,
        "days_ago": 33,
        "teaser": """\
A home wallbox spends more than 90 % of its life doing nothing. We measured what six chargers
draw while they wait, with and without a car connected, and with their network links in every
mode the firmware allows.

The worst unit idles away 110 kWh a year, roughly what an efficient fridge-freezer uses in six
months. None of the six datasheets gave an honest figure.
""",
        "body": """\
## Method

1. Each charger was supplied through a precision power analyser at 230 V and sampled once a
   second for 72 hours per state.
2. We measured three states: idle with no vehicle; vehicle connected with charging complete;
   and idle with network connectivity switched off, where the firmware allows it.
3. Units with both Wi-Fi and cellular links were measured on Wi-Fi, the configuration most
   installers leave in place.
4. Annual idle energy assumes the charger spends 8,760 hours a year in the no-vehicle state.
   This overstates it slightly, but the error is below 10 % for a typical commuter.

## Results

| Charger | Rated (kW) | Idle, no vehicle (W) | Connected, full (W) | Network off (W) | Annual idle (kWh) |
|---|---:|---:|---:|---:|---:|
| Brisa One | 7.4 | 1.3 | 1.9 | 0.9 | 11 |
| Pylon Home 11 | 11 | 2.1 | 2.8 | 1.4 | 18 |
| Voltmere Wallbox 7 | 7.4 | 3.4 | 4.1 | n/a | 30 |
| Chargeline S | 7.4 | 4.6 | 5.2 | 2.2 | 40 |
| Amperio Go 22 | 22 | 7.8 | 9.6 | 6.9 | 68 |
| Tellan Duo (bidirectional) | 11 | 12.6 | 14.1 | n/a | 110 |

![Horizontal bar chart of idle draw for six chargers, from 1.3 W for the Brisa One to 12.6 W for the Tellan Duo](/static/demo/charger-standby.svg "Idle draw with no vehicle connected, 72-hour mean")

### Why the spread is so wide

- **Always-on displays.** The Amperio and Tellan keep a backlit display powered at all times.
  Dimming it on the Amperio saved 0.9 W; the Tellan offers no such setting.
- **Residual-current monitoring.** Three units keep their DC fault-current sensing module fully
  powered between sessions. The Brisa powers it down and runs a self-test before each session,
  adding about two seconds to the start of charging.
- **Power stage pre-charge.** The Tellan keeps its bidirectional converter's DC link charged so
  that it can start discharging to the house within a second. That accounts for about 7 W.

### The labelling gap

None of the six datasheets gave a networked standby figure. Two quoted a "sleep mode" figure of
under 1 W. Their firmware never entered that mode in 72 hours of measurement, and neither
manufacturer could tell us which conditions trigger it.

## Recommendations

- Ask for measured idle draw, with networking on, before you put a charger on a quote.
- On sites with several chargers, such as flats or small businesses, multiply the figure out.
  Ten Amperio units idle away 680 kWh a year.
- Where a customer does not use smart tariffs, an installed isolator or a schedule that drops
  connectivity overnight is a legitimate saving.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "home-battery-sizing-guide",
        "title": "Sizing a home battery from half-hourly data, step by step",
        "kind": "guide",
        "topics": ["home-batteries"],
        "author": "editor",
        "is_free": True,
        "days_ago": 88,
        "teaser": """\
Most oversized home batteries were sized from an annual consumption figure and a rule of thumb.
A year of half-hourly meter data, a spreadsheet and an hour of work give a far better answer.

This guide walks through the method we use, with a worked example for a typical four-person
house and the two corrections most sizing tools leave out.
""",
        "body": """\
## What you need

- Twelve months of half-hourly import and export data from the smart meter. If the house has
  no PV yet, use consumption data plus a PV simulation for the planned array.
- The measured battery round-trip efficiency of the inverter and battery you intend to fit.
- The customer's tariff, including any time-of-use import rates.

## The method

1. For each day, work out the **evening and night deficit**: consumption from the moment PV
   output drops below the house load until it rises above it the next morning.
2. Work out the day's **available surplus**: the energy that would otherwise be exported.
3. The energy a battery could shift that day is the smallest of three numbers: the surplus,
   the deficit, and the usable capacity.
4. Sum that over the year for usable capacities from 4 to 16 kWh.
5. Look at the marginal gain per added kWh of capacity, and stop where it no longer pays back.

## Worked example

A four-person house using 4,200 kWh a year, with a 6 kWp south-facing array:

| Usable capacity (kWh) | Energy shifted per year (kWh) | Gain per extra kWh of capacity (kWh/yr) |
|---:|---:|---:|
| 4 | 1,020 | – |
| 6 | 1,390 | 185 |
| 8 | 1,610 | 110 |
| 10 | 1,720 | 55 |
| 12 | 1,765 | 23 |

### Where to stop

Beyond 8 kWh, each additional kWh of capacity shifts only 55 kWh a year, and beyond 10 kWh the
gain is negligible. Winter deficits are large, but winter surpluses are tiny, so the extra
capacity sits empty from November to February. For this house, 8 kWh usable is the sensible
answer. Without a time-of-use tariff that allows cheap overnight charging, a larger battery
cannot be justified.

### Correction one: capacity fade

A battery sized exactly to the knee of the curve will fall below it within a few years. In
[our two-year capacity fade investigation](/reports/battery-capacity-fade-two-years/), the
weakest unit lost 9.6 % in 24 months. If the chosen product has no independent ageing data,
add about 10 % margin; if it has good data, size to the curve.

### Correction two: round-trip losses

Round-trip efficiency varies more than most sizing tools assume. Across
[the 2026 hybrid inverter shootout](/reports/hybrid-inverter-shootout-2026/) it ranged from
87.3 % to 92.1 %. On 1,610 kWh shifted a year, that gap alone is worth about 75 kWh, which
changes the payback more than going from 8 to 9 kWh of capacity would.

## Common mistakes

- Sizing on annual consumption divided by 365. It hides the seasonal mismatch completely.
- Using nominal rather than usable capacity. Some batteries reserve 10 % or more.
- Ignoring backup requirements. If the customer wants whole-house backup, that is a separate
  calculation with different answers.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "heat-pump-commissioning-checklist",
        "title": "The heat pump commissioning checklist we use in the field",
        "kind": "guide",
        "topics": ["heat-pumps"],
        "author": "lab",
        "is_free": False,
        "days_ago": 102,
        "teaser": """\
Most of the heat pump complaints we investigate trace back to the day the system was
commissioned, not to the hardware. This is the checklist our lab team uses on every field-trial
installation, with the measured tolerances we hold ourselves to and the reasons behind each one.
""",
        "body": """\
## Before power-up

1. **System volume.** Confirm it meets the manufacturer's minimum, typically 20 L per kW of
   rated output for units without a buffer. Calculate it from pipe lengths and emitter content;
   do not estimate.
2. **Strainer.** Fit one on the return and record that it is clean.
3. **Pressure test.** 1.5 times the operating pressure for 30 minutes, with no drop beyond
   0.1 bar.
4. **Antifreeze.** If glycol is used, measure the concentration with a refractometer and record
   the freeze point on the handover sheet.
5. **Outdoor unit clearances.** Measure them against the manual, including the distance to the
   nearest opening window for noise.

## First run

### Flow rate

Measure the actual flow at maximum compressor speed and compare the resulting temperature spread
with the design value, usually 5 K. We accept ± 1 K. A spread above 7 K almost always means an
undersized circulator, a partly closed valve or a blocked strainer, and it shows up later as
short defrost intervals and poor efficiency.

### Weather compensation

Set the heating curve from the heat-loss calculation, not from the factory default. Enter the
design flow temperature at the design outdoor temperature, then check one intermediate point.
In supplementary runs for our [cold-climate COP test](/reports/cold-climate-heat-pump-cop-test/),
every 5 K reduction in flow temperature at -7 °C raised COP by 0.3 to 0.4.

### Defrost

Stay long enough to see at least one defrost cycle, or force one if the controller allows.
Check that:

- the flow temperature recovers within 10 minutes;
- no backup heater engages during or after the cycle;
- meltwater drains freely and cannot freeze on a path or step.

## Tolerances at a glance

| Check | Target | Tolerance |
|---|---|---|
| Flow/return spread | 5 K | ± 1 K |
| Pressure test drop | 0 bar | ≤ 0.1 bar in 30 min |
| Room temperature at handover | Design value | ± 0.5 K |
| Sound at nearest neighbour window | Local limit | Below limit with 3 dB margin |

## Handover

- Leave a printed record of every setting that differs from the factory default.
- Show the customer where to read the energy meter, and tell them what a normal winter week
  should look like in kWh.
- Book a follow-up visit for the first cold spell. It is the cheapest call-back you will ever
  make.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "export-limit-grid-code-revision",
        "title": "Draft grid-code revision would make dynamic export limits mandatory above 5 kW",
        "kind": "news",
        "topics": ["standards-policy", "solar-inverters"],
        "author": "editor",
        "is_free": True,
        "days_ago": 3,
        "teaser": """\
The network operators' joint draft revision of the connection code, published for consultation
this week, would require every new installation exporting more than 5 kW to accept dynamic export
limits set remotely by the operator.

The consultation closes in eight weeks. The proposed start date is eleven months away, which is
shorter than many product development cycles.
""",
        "body": """\
## What the draft says

- The rule applies to new connections and to any installation where the inverter is replaced
  after the start date. Existing installations are unaffected until then.
- The export limit must be adjustable in steps of 0.1 kW through a standardised remote
  interface, with the new limit in force within 60 seconds.
- If communication is lost for more than 30 minutes, the installation must fall back to a
  fail-safe export limit of 1.5 kW until contact is restored.
- Limits and fail-safe settings must **persist across firmware updates and power loss**.

### The persistence clause

The last point looks like boilerplate, but it is the one most likely to catch manufacturers
out. Our
[investigation into silent firmware rollbacks](/reports/inverter-firmware-rollback-investigation/)
found a whole fleet of inverters that lost their export settings after a routine update. Under
the draft, that would be a compliance failure, not just an annoyance.

## What it means for equipment

Of the five units in [our 2026 hybrid inverter shootout](/reports/hybrid-inverter-shootout-2026/):

1. Three already support remote export control through an open protocol and would probably
   comply with a firmware update.
2. One supports export limits only through its own cloud service. The draft does not say
   whether a vendor cloud counts as a "standardised interface".
3. The Tarnfield HV-7 has no remote export control at all.

### Timing

Eleven months is tight. Inverter manufacturers told us that a new communication interface
typically needs six to nine months of development and certification, before any distributor
stock has turned over. Installers should expect a period in which compliant units are scarce and
non-compliant stock is heavily discounted, and should be wary of buying the latter.

## Open questions

- Who is liable when a limit is applied late because the customer's router was off?
- Does the 1.5 kW fail-safe apply per inverter or per connection point? On sites with two
  inverters, the answer doubles or halves the figure.
- How will installers prove persistence at commissioning, given that it cannot be tested until
  the next firmware update arrives?

## How to respond

The consultation asks for written responses of no more than ten pages. Installers' trade bodies
are preparing a joint submission, but individual responses carry weight, especially ones with
site data. If you have logged export behaviour through a firmware update, that evidence is
exactly what the drafting group says it lacks.

We will publish the final text, and a compliance table for every inverter we have tested, once
the revision is adopted.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "installer-roundtable-hybrid-inverters",
        "title": "Installer roundtable: what the shootout numbers mean on a roof",
        "kind": "show",
        "topics": ["solar-inverters"],
        "author": "editor",
        "is_free": False,
        "days_ago": 15,
        "teaser": """\
In this episode, three working installers and our lab lead go through the hybrid inverter
shootout results and argue about what actually matters on a job: efficiency points, standby
watts, switchover times, or how long a unit takes to commission and how often it brings you
back to site.
""",
        "body": """\
## Watch the episode

https://www.youtube.com/watch?v=dQw4w9WgXcQ

Running time 48 minutes. The panel: Tomas Lindqvist (Gridline lab), Priya Raman (six-person
solar and storage firm), Dafydd Morgan (sole trader, mostly retrofits) and Ilse Verhoeven
(commercial installer moving into domestic work).

## Chapters

1. **00:00** Introductions, and how each panellist chooses an inverter today.
2. **04:30** Tomas walks through the bench method and the results table.
3. **12:15** Do efficiency points matter to customers, or only to us?
4. **21:40** Switchover times and what "backup" really means in a sales conversation.
5. **30:05** Commissioning time, apps and remote support.
6. **39:50** Firmware updates: who should press the button?
7. **45:10** Each panellist's pick, and why.

## Key points

### On efficiency

> "Two and a half points of efficiency is real money over twenty years. But I lose more than
> that to a bad string layout, and nobody benchmarks those." Priya Raman

The panel agreed that the efficiency spread in
[the 2026 hybrid inverter shootout](/reports/hybrid-inverter-shootout-2026/) is large enough to
mention to customers, but only alongside an annual kWh figure, never as a percentage.

Tomas pointed out that the weighted figure already leans on partial load, because most
residential inverters spend their working lives below 30 % of rated output. That is also where
the gap between the units is widest.

### On switchover

Dafydd described two call-backs last winter for units with switchover times above 30 ms:
boiler controllers that rebooted and lost their schedule. He now asks customers to list which
appliances they expect to keep running, and tests those at handover. Ilse was more blunt: if a
customer's medical or heating equipment must not drop out, she specifies a separate
uninterruptible supply rather than relying on any hybrid inverter's backup port.

### On commissioning

- Ilse timed her last ten commissionings. The fastest unit took 22 minutes and the slowest 71,
  most of it spent on app registration and waiting for a firmware download.
- Everyone wanted a local commissioning mode that works without the customer's Wi-Fi.
- Tomas noted that the Aurel H8's export-limit reset in our
  [six-month field test](/reports/aurel-h8-long-term-test/) would have gone unnoticed without
  a logger.

## The panel's picks

| Panellist | Pick | Main reason |
|---|---|---|
| Priya Raman | Solvik Flex 8.2 | Battery round-trip on daily-cycling customers |
| Dafydd Morgan | Norvane Duo 6 | Quiet enough for inside a utility room |
| Ilse Verhoeven | Aurel H8 | Efficiency and the fastest commissioning |
| Tomas Lindqvist | Aurel H8 | With automatic updates switched off for now |
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "bidirectional-charger-field-trial",
        "title": "Bidirectional charging in a detached house: the Tellan Duo field trial",
        "kind": "test",
        "topics": ["ev-chargers", "home-batteries"],
        "author": "lab",
        "is_free": False,
        "days_ago": 56,
        "teaser": """\
We ran the Tellan Duo bidirectional wallbox for ten weeks in a detached house with an 11 kWp roof
and a compatible car with a 64 kWh battery, powering the home from the vehicle every evening.

Round-trip losses were larger than the marketing implies, and the charger's own standby draw
eats a surprising share of the benefit.
""",
        "body": """\
## Setup

- Tellan Duo 11 kW bidirectional DC wallbox, firmware 1.9.3, on a dedicated 32 A circuit.
- 11 kWp PV array on a separate string inverter, no stationary battery.
- Vehicle discharge floor set at 40 % state of charge, so the driver always had at least 150 km.
- Revenue-grade meters on the charger supply and the grid connection; vehicle state of charge
  logged over the charger's own interface and checked against the car's dashboard.

## Measured results

| Metric | Value |
|---|---:|
| Energy charged for later discharge to the house (AC, kWh) | 604 |
| Energy returned to the house (AC, kWh) | 512 |
| Round-trip efficiency, AC to AC (%) | 84.8 |
| Mean discharge power (kW) | 2.3 |
| Round-trip efficiency below 1.5 kW discharge (%) | 78.1 |
| Charger standby over the trial (kWh) | 21.2 |
| Vehicle wake-up and battery management losses (kWh) | 9.8 |
| Evenings with zero grid import between 17:00 and 23:00 | 58 of 70 |

### Where the losses go

1. The charger's power stage converts twice on each round trip. At its rated 11 kW it is
   efficient, but the house rarely asked for more than 3 kW.
2. Below 1.5 kW, which covered most of the late evening and the night, round-trip efficiency fell
   to 78.1 %. A stationary battery on a good hybrid inverter does markedly better at these
   powers.
3. Every discharge session wakes the vehicle's battery management system and its 12 V systems.
   Over ten weeks that cost 9.8 kWh.

### Standby

The Tellan's idle draw of 12.6 W, the highest in
[our wallbox standby investigation](/reports/ev-charger-standby-power/), added up to 21.2 kWh
over the trial. That is just over 4 % of the energy the car returned to the house. Tellan says a
low-power idle mode is planned, but gave no date.

## Grid-side behaviour

- Frequency response was correct: discharge stopped within 200 ms when the grid simulator
  pushed frequency above 50.4 Hz during a scheduled test.
- Anti-islanding worked in all ten disconnection trials.
- The charger did not respect the site's export limit when PV and vehicle discharge overlapped
  in the early evening, exporting up to 1.8 kW above the limit. Tellan has acknowledged the bug.

## Verdict

- Evening self-sufficiency is real: 58 of 70 evenings had no grid import.
- The economics depend heavily on the tariff. On a flat rate, losses and standby consumed about
  a fifth of the value of the energy moved.
- Do not install until the export-limit bug is fixed, on any site with a limit.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "inverter-firmware-rollback-investigation",
        "title": "Silent firmware rollbacks: how one inverter fleet lost its export settings",
        "kind": "investigation",
        "topics": ["solar-inverters", "standards-policy"],
        "author": "editor",
        "is_free": False,
        "days_ago": 27,
        "teaser": """\
Over three weeks in January, installers on one regional network reported hybrid inverters
exporting above their agreed limits. We traced the cause to an over-the-air update that restored
factory parameters on part of the fleet, and to an update process that told nobody it had done
so.
""",
        "body": """\
## How it surfaced

The first report came from an installer whose customer received a letter from the network
operator: their site had exported 7.9 kW against an agreed 3.68 kW limit. Within a fortnight,
the operator's connections team had logged 41 similar cases. Every one of them involved a
Kestrel HX-series inverter.

## What we found

We obtained update logs from eleven installers covering 1,318 Kestrel units and reconstructed
the sequence:

1. Firmware 3.02 was pushed over the air from 8 January in staged batches.
2. On units that had been configured through the installer app *before* a 2024 app update,
   settings were stored in a legacy parameter block.
3. Firmware 3.02 migrated that block to a new format. Where the migration failed a checksum, the
   firmware silently loaded factory defaults, including an unlimited export setting.
4. Neither the installer portal nor the customer app reported the change.

| Installer sample | Units updated to 3.02 | Export limit reset | Share (%) |
|---|---:|---:|---:|
| Configured before app update | 604 | 187 | 31.0 |
| Configured after app update | 714 | 0 | 0.0 |
| Total | 1,318 | 187 | 14.2 |

### Why nobody noticed

Most of the affected sites had limits well above their usual export, so the reset only showed on
clear days in late January. Monitoring dashboards compare yield with a forecast, not export with
a limit, so they raised no alarm.

## The manufacturer's response

> "The parameter reset affected a limited number of devices configured with an older
> commissioning tool. Firmware 3.03 restores the previous settings where a backup exists and
> notifies the installer where it does not." Kestrel Power Systems, statement to Gridline
> Research

Our sample suggests "limited" means almost a third of units configured before the app update.
Kestrel has not said how many units in total received 3.02.

## Not just one brand

The Kestrel HX-10 was a mid-table performer in
[the 2026 hybrid inverter shootout](/reports/hybrid-inverter-shootout-2026/), and nothing on the
bench hinted at this. Nor is Kestrel alone: the Aurel H8 in our
[six-month field test](/reports/aurel-h8-long-term-test/) reset its export limit after firmware
2.14, by a different mechanism but with the same result.

## What installers should do

- Export the full parameter set of every inverter at commissioning and keep it with the job file.
- Where the installer portal allows it, enable alerts on any change to grid parameters.
- After any firmware release, spot-check export limits on a sample of sites, starting with the
  oldest commissionings.

## The regulatory angle

The persistence clause in the [draft grid-code revision](/reports/export-limit-grid-code-revision/)
would turn this kind of reset from a service problem into a compliance breach. Manufacturers
have less than a year to make sure their update processes can survive it.
""",
    },
    # ------------------------------------------------------------------------------------------
    {
        "slug": "hengchuan-vault-10-module-recall",
        "title": "Hengchuan recalls Vault 10 battery modules from two production weeks",
        "kind": "news",
        "topics": ["home-batteries", "standards-policy"],
        "author": "editor",
        "is_free": False,
        "days_ago": 6,
        "teaser": """\
Hengchuan Energy Storage has issued a voluntary recall of Vault 10 battery modules built in weeks
14 and 15 of last year, citing a cell-tab welding defect that can cause localised heating.

The manufacturer says no fires have been reported. Installers with Vault 10 systems on their
books need to check serial numbers now, not at the next service visit.
""",
        "body": """\
## What is affected

- Vault 10 modules with serial numbers whose production code runs from **HV10-2514** to
  **HV10-2515**; the production code is the third block on the rating plate.
- Complete systems and spare modules alike, including units still in distributor stock.
- The Vault 10 controller and the later Vault 12 are not included.

The distributor estimates that about 2,900 modules from the affected weeks reached the market,
spread across roughly 1,100 installations.

## The notice

The recall notice sent to registered installers reads, in part:

> A welding deviation on the cell tabs of a limited number of modules may increase internal
> resistance at the connection point. Under sustained high discharge current this may cause
> localised heating. Affected modules must be limited to 50 % of rated power until replaced.

Hengchuan has pushed a remote update that applies the 50 % power limit automatically, but only
to systems that are online and registered. Offline systems keep running at full power.

## What installers should do

1. Pull every Vault 10 installation from your records and check the production codes against
   the range above.
2. For affected sites, confirm in the portal that the power limit is active. If the system is
   offline, visit and apply it locally.
3. Tell the customer, in writing, what the limit means: backup runtime at high load will be
   shorter, and daily self-consumption will barely change.
4. Register each affected module on the distributor's replacement portal. Hengchuan quotes
   replacement within ten weeks.

### Labour costs

Hengchuan will pay a flat labour fee per replaced module. Installers we spoke to called it
adequate for single-module systems and inadequate for stacked three-module installations, which
need the whole stack taken down.

## Is this linked to the fade we measured?

Probably not. The Vault 10 in
[our two-year capacity fade investigation](/reports/battery-capacity-fade-two-years/) was built
well before the affected weeks, and its accelerated fade tracked cell temperature rather than
current. A tab-welding defect would show up as rising resistance under load, which we did not
see. We have nevertheless asked Hengchuan whether the welding process was changed at any other
point.

### Replacement or refund

Some customers will ask for a refund rather than wait ten weeks. If they then buy a different
battery, size it properly: our
[half-hourly sizing guide](/reports/home-battery-sizing-guide/) shows how, and it often points
to a smaller battery than the one being replaced.
""",
    },
]
