"""What email providers tell us about our mail: tracking webhooks, the event ledger and
the suppression list every sending path respects."""
