"""The demo's comment threads: subscribers discussing reports, and authors answering them.

`hours` is how long after the report's publication a comment was posted; replies come after
the comment they answer. Authors are keys of `content.AUTHORS` or `content.READERS`. Comments
are Markdown-lite, like every reader's comment.
"""

from typing import Final, NotRequired, TypedDict


class DemoComment(TypedDict):
    by: str
    hours: float
    body: str
    replies: NotRequired[list["DemoComment"]]


THREADS: Final[dict[str, list[DemoComment]]] = {
    "heat-pump-shootout": [
        {
            "by": "jonas",
            "hours": 1.2,
            "body": (
                "Finally someone tests with the factory settings as well. Half the call-backs "
                'we get for "high running costs" turn out to be a default heating curve nobody '
                "touched.\n\nDid you try the Taiga with weather compensation on but its factory "
                "curve? I'd like to know how much of its gap is the fixed 50 °C and how much is "
                "the curve itself."
            ),
            "replies": [
                {
                    "by": "ingrid",
                    "hours": 2.5,
                    "body": (
                        "We did, as an extra run that didn't fit in the tables: compensation on "
                        "with Taiga's default curve gave a seasonal COP of 2.81. So roughly half "
                        "of the gain comes from switching compensation on at all, and half from "
                        "fitting the curve to the house."
                    ),
                },
                {
                    "by": "jonas",
                    "hours": 3.1,
                    "body": (
                        "Thanks, that's useful. So the most valuable setting on that unit is "
                        "three menus deep. Typical."
                    ),
                },
            ],
        },
        {
            "by": "hannah",
            "hours": 1.9,
            "body": (
                "The Osterholm's room feedback sounds great until you meet a customer whose "
                "thermostat is in the hallway next to the front door. Has anyone fitted it with "
                "the wireless sensor instead of the wired one?"
            ),
            "replies": [
                {
                    "by": "dafydd",
                    "hours": 4.0,
                    "body": (
                        "I've done two with the wireless sensor. It works, but pairing took me "
                        "longer than the rest of the commissioning, and one lost its link after "
                        "the customer changed their router. I'd run a cable if there's any way "
                        "to."
                    ),
                },
                {
                    "by": "ingrid",
                    "hours": 5.2,
                    "body": (
                        "Our test house used the wired sensor in the living room. Osterholm's "
                        "installer notes say the wireless sensor reports every five minutes "
                        "rather than every minute, which should be fine for a curve that adapts "
                        "over weeks. The hallway problem is the bigger one: put the sensor "
                        "where people sit."
                    ),
                },
            ],
        },
        {
            "by": "kwame",
            "hours": 2.6,
            "body": (
                "Good to see seasonal COP with the backup heater included. Too many comparisons "
                "leave it out, and then the customer's bill doesn't match the proposal. Can "
                "subscribers get the hourly data? I'd like to run it against a couple of "
                "tariffs."
            ),
            "replies": [
                {
                    "by": "ingrid",
                    "hours": 3.4,
                    "body": (
                        "Yes: ask the lab for the hourly files for both runs. They include the "
                        "chamber conditions, heat delivered, electricity by component and the "
                        "backup heater on its own."
                    ),
                },
            ],
        },
        {
            "by": "priya",
            "hours": 3.3,
            "body": (
                "We've been fitting the Veska since your cold-climate test. The 100 Hz tone is "
                "real: we had one complaint last winter from a neighbour two doors along, not "
                "even the nearest house. Anti-vibration feet helped a little; moving the unit "
                "helped a lot."
            ),
            "replies": [
                {
                    "by": "hannah",
                    "hours": 6.8,
                    "body": (
                        "Same here with an earlier Veska. The tone carries through fences in a "
                        "way the dB(A) figure doesn't tell you."
                    ),
                },
            ],
        },
        {
            "by": "amara",
            "hours": 4.8,
            "body": (
                "From the network side: a 7 kW heat pump that brings in a 3 kW backup heater on "
                "the coldest morning is a 10 kW load at exactly the time everyone else's peaks "
                "too. The backup-hours column for the Halden and the Taiga is the one we'd care "
                "about. Thanks for publishing it."
            ),
            "replies": [
                {
                    "by": "kwame",
                    "hours": 7.5,
                    "body": (
                        "And those backup kWh land in the most expensive hours of a time-of-use "
                        "tariff, so the running-cost gap is wider than the COP gap suggests."
                    ),
                },
            ],
        },
        {
            "by": "subscriber",
            "hours": 6.1,
            "body": (
                "A question on method: the winter is compressed by skipping summer and speeding "
                "up the mildest weeks. Doesn't that change cycling in the shoulder season, which "
                "is where the controllers differ most?"
            ),
            "replies": [
                {
                    "by": "ingrid",
                    "hours": 7.0,
                    "body": (
                        "Fair question. We only compressed weeks whose mean outdoor temperature "
                        "was above 12 °C, and we did it by dropping alternate days, not by "
                        "running faster: every hour that was replayed ran at real speed, and the "
                        "units cycled as they wished. Shoulder-season cycling is in the data as "
                        "it happened."
                    ),
                },
                {"by": "subscriber", "hours": 8.2, "body": "That's reassuring, thanks."},
            ],
        },
        {
            "by": "ilse",
            "hours": 9.4,
            "body": (
                "The Brennvik's legionella default alone cost 190 kWh over the winter? That's "
                "more than some households use for all their hot water in two months. It's going "
                "on our handover checklist today."
            ),
            "replies": [
                {
                    "by": "jonas",
                    "hours": 10.9,
                    "body": (
                        "Same on the Taiga. I suspect both ship with a daily cycle so the hot "
                        "water looks safe on paper, and nobody counts what it costs."
                    ),
                },
            ],
        },
        {
            "by": "dafydd",
            "hours": 12.7,
            "body": (
                "I'd love to see this with 55 °C radiators, which is what most of my retrofit "
                "customers live with for the first year or two, until they can afford to change "
                "emitters."
            ),
            "replies": [
                {
                    "by": "ingrid",
                    "hours": 14.0,
                    "body": (
                        "It's on the list for the next season. Until then, the cold-climate "
                        "test has a 55 °C point at -7 °C, and the ranking of the three units "
                        "there didn't change with flow temperature."
                    ),
                },
            ],
        },
        {
            "by": "jonas",
            "hours": 18.3,
            "body": (
                "Is anyone else finding distributors pushing the Taiga hard at the moment? Now "
                "I know why it's cheap."
            ),
            "replies": [
                {
                    "by": "priya",
                    "hours": 19.6,
                    "body": (
                        "Yes, bundled with a cylinder at a price that's hard to beat on a quote. "
                        "I've sent our rep a link to this report."
                    ),
                },
            ],
        },
        {
            "by": "hannah",
            "hours": 26.5,
            "body": (
                'Printed "What installers should take from this" and pinned it up in the van. '
                "Point 2 should be on every manufacturer's commissioning sheet."
            ),
        },
        {
            "by": "kwame",
            "hours": 31.0,
            "body": (
                "One thing I couldn't work out: the Brennvik's 190 kWh for the daily legionella "
                "cycle, is that the whole cost of the cycle over the winter, or the extra over a "
                "weekly one?"
            ),
            "replies": [
                {
                    "by": "ingrid",
                    "hours": 33.2,
                    "body": (
                        "The extra: the daily cycle used 190 kWh more over the winter than the "
                        "weekly cycle. I've asked the desk to make that clearer in the text."
                    ),
                },
            ],
        },
    ],
    "export-limit-grid-code-revision": [
        {
            "by": "amara",
            "hours": 5.5,
            "body": (
                "Speaking for myself rather than my employer: the fail-safe figure is per "
                "connection point in the working group's notes. The draft wording is ambiguous "
                "and that's worth saying clearly in a response."
            ),
            "replies": [
                {
                    "by": "maren",
                    "hours": 7.2,
                    "body": (
                        "Thank you. We'll put the question to the drafting group directly and "
                        "report what they say."
                    ),
                },
            ],
        },
        {
            "by": "priya",
            "hours": 20.0,
            "body": (
                "Eleven months is not enough. We still have customers waiting for inverters we "
                "ordered three months ago, and those comply with nothing new."
            ),
        },
        {
            "by": "dafydd",
            "hours": 41.0,
            "body": (
                "How will anyone prove persistence at commissioning? I can't test what the next "
                "firmware update will do."
            ),
        },
    ],
    "tarnfield-hv7-firmware-response": [
        {
            "by": "dafydd",
            "hours": 3.0,
            "body": (
                "Credit to Tarnfield for fixing it and sending you a unit. I have four HV-7s out "
                "there. Updating them this week."
            ),
        },
        {
            "by": "ilse",
            "hours": 9.5,
            "body": (
                "Does 1.8 update over the air, or does it need a laptop on site? The release "
                "notes we got from the distributor don't say."
            ),
            "replies": [
                {
                    "by": "tomas",
                    "hours": 11.0,
                    "body": (
                        "Over the air, if the unit is registered in Tarnfield's portal. Ours "
                        "took about twenty minutes including the grid-protection self-test, "
                        "during which it doesn't export."
                    ),
                },
            ],
        },
    ],
    "hengchuan-vault-10-module-recall": [
        {
            "by": "priya",
            "hours": 2.1,
            "body": (
                "Checked our records: nine Vault 10 systems, two in the affected weeks. Both "
                "are online and the limit shows as applied in the portal."
            ),
        },
        {
            "by": "jonas",
            "hours": 4.4,
            "body": (
                "The flat labour fee doesn't come close for a three-module stack. Taking it "
                "down, replacing the middle module and recommissioning is half a day with two "
                "people."
            ),
            "replies": [
                {
                    "by": "lucia",
                    "hours": 6.0,
                    "body": (
                        "We've put that to Hengchuan's distributor, with your figure and two "
                        "others from installers. We'll publish their answer."
                    ),
                },
                {
                    "by": "ilse",
                    "hours": 8.3,
                    "body": "Same experience here. Worth pushing on.",
                },
            ],
        },
        {
            "by": "subscriber",
            "hours": 27.0,
            "body": (
                "One of ours is offline: the customer moved and the new owner has no idea what "
                "the portal is. Is there a way to apply the power limit locally without their "
                "account?"
            ),
            "replies": [
                {
                    "by": "lucia",
                    "hours": 30.5,
                    "body": (
                        "Yes: the distributor confirmed the limit can be set from the installer "
                        "menu on the controller's local page, with the installer code. The "
                        "recall notice's appendix has the steps."
                    ),
                },
            ],
        },
    ],
    "wallbox-shootout": [
        {
            "by": "hannah",
            "hours": 2.3,
            "body": (
                "We fitted a batch of Kirans for a housing association last year, all with "
                "type A devices, as the manual allows. I'll be on the phone to them this "
                "morning."
            ),
            "replies": [
                {
                    "by": "dev",
                    "hours": 3.6,
                    "body": (
                        "That's exactly the case we were worried about. A type B device in "
                        "front of each unit closes the gap until Kiran has a fix we can verify."
                    ),
                },
            ],
        },
        {
            "by": "amara",
            "hours": 6.0,
            "body": (
                "The four-second overload matters to us even if the fuse holds. We size "
                "service cables on the assumption that load management actually manages."
            ),
        },
        {
            "by": "kwame",
            "hours": 15.0,
            "body": (
                "Would be good to see the Stellwerk's response with a meter that isn't on the "
                "same Modbus line as the inverter. Some sites will have both."
            ),
            "replies": [
                {
                    "by": "dev",
                    "hours": 22.0,
                    "body": (
                        "We'll try that on the retest. Stellwerk says a shared line is supported "
                        "up to three devices, but polling slows with each one."
                    ),
                },
            ],
        },
    ],
    "home-battery-fire-incidents-investigation": [
        {
            "by": "ilse",
            "hours": 4.0,
            "body": (
                "The labelling point is the one I'd underline. We label everything, but I've "
                "been to plenty of sites where nobody did."
            ),
        },
        {
            "by": "jonas",
            "hours": 9.0,
            "body": (
                "We've started refusing loft installations outright. Customers push back "
                "because it's where the space is, and this gives me something to show them."
            ),
            "replies": [
                {
                    "by": "lucia",
                    "hours": 12.5,
                    "body": (
                        "That was the investigators' strongest advice too. One of them said "
                        "she'd never seen a loft battery fire found early."
                    ),
                },
            ],
        },
        {
            "by": "kwame",
            "hours": 50.0,
            "body": (
                "Thirty-eight reports is small, but the pattern on DC connections matches what "
                "insurers have been telling me informally for a while."
            ),
        },
    ],
    "inverter-firmware-rollback-investigation": [
        {
            "by": "priya",
            "hours": 1.5,
            "body": (
                "Two of the eleven installers were us. Thank you for pulling it together: on our "
                "own we just had a pile of angry letters."
            ),
        },
        {
            "by": "amara",
            "hours": 6.5,
            "body": (
                "The network operator's point at the end is the crux. We have no relationship "
                "with the manufacturer at all, and no way to tell a firmware reset from a "
                "customer fiddling."
            ),
            "replies": [
                {
                    "by": "maren",
                    "hours": 8.0,
                    "body": (
                        "Which is why we think the draft grid code, when it comes, has to put "
                        "some of the responsibility on manufacturers directly."
                    ),
                },
            ],
        },
        {
            "by": "dafydd",
            "hours": 14.0,
            "body": (
                "Has anyone got Kestrel to pay for the visits? We did 23 sites and got an "
                "apology email."
            ),
            "replies": [
                {
                    "by": "ilse",
                    "hours": 16.0,
                    "body": (
                        "No. Our distributor gave us a credit note for about a third of it, "
                        "after a lot of calls."
                    ),
                },
                {
                    "by": "subscriber",
                    "hours": 30.0,
                    "body": "Same as Dafydd: an apology and nothing else.",
                },
            ],
        },
        {
            "by": "kwame",
            "hours": 75.0,
            "body": (
                "The staged roll-out section should be required reading for every manufacturer's "
                'firmware team. "It installed" is not "it works".'
            ),
        },
    ],
    "heat-pump-noise-limit-proposal": [
        {
            "by": "hannah",
            "hours": 8.0,
            "body": (
                "Dropping the one-metre rule opens up half the terraces in our area. The window "
                "assessment will make surveys longer, but I'll take that trade."
            ),
        },
        {
            "by": "jonas",
            "hours": 26.0,
            "body": (
                "How are we supposed to find the height of a neighbour's bedroom window we "
                "can't see from the garden?"
            ),
        },
    ],
    "aurel-h8-long-term-test": [
        {
            "by": "ilse",
            "hours": 2.0,
            "body": (
                "The app showing the cloud value rather than what the inverter is running with "
                "is the scariest thing in this report. How many installers check the local "
                "page?"
            ),
            "replies": [
                {
                    "by": "tomas",
                    "hours": 4.5,
                    "body": (
                        "Very few, in our experience, which is why it's in the service-visit "
                        "list. Aurel tells us the next app release will show both values."
                    ),
                },
            ],
        },
        {
            "by": "dafydd",
            "hours": 10.0,
            "body": (
                "Re-torquing at the first service is something we do on every job anyway. 19 K "
                "at 90 days is a good reminder why."
            ),
        },
        {
            "by": "subscriber",
            "hours": 36.0,
            "body": (
                "Is 2.15 rolling out automatically, or do we need to push it? Two of our H8s "
                "still show 2.14."
            ),
            "replies": [
                {
                    "by": "tomas",
                    "hours": 40.0,
                    "body": (
                        "Automatically, in batches, according to Aurel. You can request it for a "
                        "specific unit through the installer portal."
                    ),
                },
            ],
        },
    ],
    "installer-roundtable-hybrid-inverters": [
        {
            "by": "hannah",
            "hours": 20.0,
            "body": (
                "Priya's point about naming the backup circuits in the quote is the best advice "
                "in this. We started doing it after a winter of unhappy customers."
            ),
        },
        {
            "by": "jonas",
            "hours": 60.0,
            "body": (
                "More of these, please. Hearing how other firms run their jobs is as useful as "
                "the bench numbers."
            ),
        },
    ],
    "heat-pump-noise-neighbours-investigation": [
        {
            "by": "hannah",
            "hours": 3.0,
            "body": (
                "Site G is every side passage I've ever been asked to put a unit in. We count "
                "three surfaces there now as a matter of course."
            ),
        },
        {
            "by": "priya",
            "hours": 11.0,
            "body": (
                "The quiet-mode fix at site M is the one to remember: no visit, no parts, two "
                "decibels."
            ),
            "replies": [
                {
                    "by": "ingrid",
                    "hours": 14.0,
                    "body": (
                        "With a caveat: check the room temperature on the first cold night "
                        "after you set it. On a marginally sized unit, the output you give up "
                        "can matter."
                    ),
                },
            ],
        },
        {
            "by": "kwame",
            "hours": 70.0,
            "body": (
                "Would be good to know the sound power figures the surveys used, against what "
                "you measured at 1 m. Is it the datasheets or the surveys that are off?"
            ),
        },
    ],
    "bidirectional-charger-field-trial": [
        {
            "by": "kwame",
            "hours": 5.0,
            "body": (
                "The tariff table is the honest part. On a flat rate this is a hobby, not an "
                "investment."
            ),
        },
        {
            "by": "amara",
            "hours": 30.0,
            "body": (
                "Please keep flagging the export-limit behaviour. A charger that exports is a "
                "generator, and most applications we see for them don't say so."
            ),
            "replies": [
                {
                    "by": "dev",
                    "hours": 33.0,
                    "body": (
                        "We will. Tellan says a fix is in testing; we'll retest it on the bench "
                        "before we say it's fixed."
                    ),
                },
            ],
        },
    ],
    "home-battery-sizing-guide": [
        {
            "by": "reader",
            "hours": 40.0,
            "body": (
                "Very clear, thank you. My supplier only gives me daily totals, not half-hourly "
                "readings. Is the method still worth doing with those?"
            ),
            "replies": [
                {
                    "by": "lucia",
                    "hours": 47.0,
                    "body": (
                        "Roughly, yes, if you also know when the sun sets: daily totals can't "
                        "split the evening deficit from the day's use, so expect to overestimate "
                        "slightly. Most suppliers will send half-hourly data if you ask for it "
                        "by name."
                    ),
                },
            ],
        },
    ],
    "heat-pump-commissioning-checklist": [
        {
            "by": "hannah",
            "hours": 12.0,
            "body": (
                "We've adopted most of this. The backup-heater enable point is the one "
                "installers forget most often, in my experience."
            ),
        },
        {
            "by": "jonas",
            "hours": 48.0,
            "body": (
                "A flow/return spread of 7 K or more has been a blocked strainer on every site "
                "where I've seen it. Good to see it called out."
            ),
        },
    ],
    "hybrid-inverter-shootout": [
        {
            "by": "priya",
            "hours": 1.0,
            "body": (
                "The partial-load table is worth the subscription on its own. Nobody else "
                "publishes the 10 % figure."
            ),
        },
        {
            "by": "dafydd",
            "hours": 5.0,
            "body": (
                "The Tarnfield's manual battery window explains two call-backs I had last "
                "winter. Cold mornings, undervoltage trips, exactly as you describe."
            ),
            "replies": [
                {
                    "by": "tomas",
                    "hours": 7.0,
                    "body": (
                        "Thanks for confirming. If you still have the logs, we'd like to see "
                        "the battery voltage at the trip."
                    ),
                },
            ],
        },
        {
            "by": "subscriber",
            "hours": 26.0,
            "body": (
                "We fit the Kestrel on three-orientation roofs for the extra tracker. The night "
                "draw is the price; good to have a number to put in front of customers."
            ),
        },
        {
            "by": "ilse",
            "hours": 55.0,
            "body": (
                "Will you test the three-phase versions? Most of our commercial work is "
                "three-phase."
            ),
        },
    ],
    "cold-climate-heat-pump-cop-test": [
        {
            "by": "jonas",
            "hours": 6.0,
            "body": (
                "The Halden is sold everywhere up here as a 7 kW unit. 4.6 kW at -15 °C is "
                "going to surprise a lot of customers this winter."
            ),
        },
        {
            "by": "hannah",
            "hours": 20.0,
            "body": (
                "The flow-temperature table is the one I'll show customers who want to keep "
                "their old radiators."
            ),
            "replies": [
                {
                    "by": "ingrid",
                    "hours": 26.0,
                    "body": (
                        "That's what it's for. Swapping two or three of the smallest radiators "
                        "often gets a house from 55 °C to 45 °C."
                    ),
                },
            ],
        },
    ],
    "battery-capacity-fade-two-years": [
        {
            "by": "priya",
            "hours": 4.0,
            "body": (
                "The state-of-health table is the one that worries me. We've been using the app "
                "figure at service visits."
            ),
            "replies": [
                {
                    "by": "lucia",
                    "hours": 6.5,
                    "body": (
                        "It's a reasonable early warning, but it lags. A metered discharge once "
                        "every few years is the only figure we'd trust for a warranty "
                        "conversation."
                    ),
                },
            ],
        },
        {
            "by": "kwame",
            "hours": 30.0,
            "body": (
                "Heat doing a third of the damage in 8 % of the time is a striking number. "
                "Garage installs should come with a thermometer."
            ),
        },
        {
            "by": "dafydd",
            "hours": 90.0,
            "body": "Looking forward to the 36-month update.",
        },
    ],
}
