"""Tracking webhook requests shaped as each provider sends them (from the providers' event
references and Anymail's documentation), with their authentication, for tests and the bench.

Each builder returns (path, body bytes, headers) ready for a POST. Mailgun's and Resend's
carry the basic auth too: with `ANYMAIL_WEBHOOK_SECRET` set, Anymail asks it of every
provider, on top of their signatures (the URL given to the provider carries it).
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

from svix.webhooks import Webhook

WEBHOOK_SECRET = "hook-user:hook-password"
MAILGUN_KEY = "key-test-mailgun-signing"
RESEND_SECRET = "whsec_" + "dGVzdC1yZXNlbmQtc2lnbmluZy1zZWNyZXQ="

Request = tuple[str, bytes, dict[str, str]]


def basic_auth(credentials: str = WEBHOOK_SECRET) -> dict[str, str]:
    token = base64.b64encode(credentials.encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def postmark(
    record_type: str,
    *,
    email: str,
    at: datetime,
    event_id: int | None = None,
    bounce_type: str = "HardBounce",
    report_id: int | None = None,
    message_id: str = "883953f4-6105-42a2-a16a-77a8eac79483",
    auth: str = WEBHOOK_SECRET,
) -> Request:
    metadata = {"report_id": str(report_id)} if report_id else {}
    common = {
        "RecordType": record_type,
        "MessageID": message_id,
        "Metadata": metadata,
        "MessageStream": "broadcast",
        "Tag": "notification",
    }
    if record_type == "Bounce":
        body = {
            **common,
            "ID": event_id or 4323372036854775807,
            "Type": bounce_type,
            "TypeCode": 1 if bounce_type == "HardBounce" else 4096,
            "Name": "Hard bounce",
            "Email": email,
            "From": "reports@example.com",
            "BouncedAt": _iso(at),
            "Description": "The server was unable to deliver your message",
            "Details": "smtp;550 5.1.1 The email account does not exist.",
            "Inactive": bounce_type == "HardBounce",
            "CanActivate": True,
        }
    elif record_type == "SpamComplaint":
        body = {
            **common,
            "ID": event_id or 42,
            "Type": "SpamComplaint",
            "TypeCode": 512,
            "Email": email,
            "BouncedAt": _iso(at),
            "Description": "",
            "Inactive": True,
        }
    elif record_type == "Delivery":
        body = {
            **common,
            "Recipient": email,
            "DeliveredAt": _iso(at),
            "Details": "Test delivery webhook details",
            "ServerID": 23,
        }
    elif record_type == "Open":
        body = {
            **common,
            "Recipient": email,
            "ReceivedAt": _iso(at),
            "FirstOpen": True,
            "UserAgent": "Mozilla/5.0",
            "Platform": "WebMail",
        }
    elif record_type == "SubscriptionChange":
        body = {
            **common,
            "Recipient": email,
            "ChangedAt": _iso(at),
            "SuppressSending": True,
            "SuppressionReason": "ManualSuppression",
            "Origin": "Recipient",
        }
    else:
        body = {**common, "Recipient": email, "ReceivedAt": _iso(at)}
    headers = (
        {"Content-Type": "application/json", **basic_auth(auth)}
        if auth
        else {"Content-Type": "application/json"}
    )
    return "/anymail/postmark/tracking/", json.dumps(body).encode(), headers


def ses(
    event_type: str,
    *,
    email: str,
    at: datetime,
    sns_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
    bounce_type: str = "Permanent",
    report_id: int | None = None,
    auth: str = WEBHOOK_SECRET,
    message_id: str = "0100017f-ses-message",
    mail_headers: dict[str, str] | None = None,
) -> Request:
    """`mail_headers`: the sent message's headers, which SES echoes in the event's `mail`."""
    headers_list = (
        [{"name": "X-Metadata", "value": json.dumps({"report_id": report_id})}]
        if (report_id)
        else []
    )
    if mail_headers is not None:
        headers_list = [{"name": name, "value": value} for name, value in mail_headers.items()]
    mail = {
        "timestamp": _iso(at),
        "source": "reports@example.com",
        "messageId": message_id,
        "destination": [email],
        "headers": headers_list,
    }
    event: dict[str, object] = {"eventType": event_type, "mail": mail}
    if event_type == "Bounce":
        event["bounce"] = {
            "bounceType": bounce_type,
            "bounceSubType": "General" if bounce_type == "Permanent" else "MailboxFull",
            "bouncedRecipients": [
                {
                    "emailAddress": email,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": _iso(at),
            "feedbackId": "0100017f-feedback",
        }
    elif event_type == "Complaint":
        event["complaint"] = {
            "complainedRecipients": [{"emailAddress": email}],
            "timestamp": _iso(at),
            "feedbackId": "0100017f-complaint",
            "complaintFeedbackType": "abuse",
        }
    elif event_type == "Delivery":
        event["delivery"] = {
            "timestamp": _iso(at),
            "recipients": [email],
            "smtpResponse": "250 2.6.0 Message received",
        }
    elif event_type == "Open":
        event["open"] = {
            "timestamp": _iso(at),
            "userAgent": "Mozilla/5.0",
            "ipAddress": "192.0.2.1",
        }
    notification = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(event),
        "Timestamp": _iso(at),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": sns_id,
        "x-amz-sns-topic-arn": notification["TopicArn"],
    }
    if auth:
        headers.update(basic_auth(auth))
    return "/anymail/amazon_ses/tracking/", json.dumps(notification).encode(), headers


def mailgun(
    event: str,
    *,
    email: str,
    at: datetime,
    token: str | None = None,
    severity: str = "permanent",
    report_id: int | None = None,
    key: str = MAILGUN_KEY,
    auth: str = WEBHOOK_SECRET,
) -> Request:
    timestamp = str(int(at.timestamp()))
    # Mailgun signs a fresh random token per event; Anymail takes it as the event id.
    token = token or hashlib.sha256(f"{event}{email}{at}".encode()).hexdigest()[:50]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    data: dict[str, object] = {
        "id": hashlib.sha256(f"id{event}{email}{at}".encode()).hexdigest()[:22],
        "timestamp": at.timestamp(),
        "event": event,
        "recipient": email,
        "recipient-domain": email.rpartition("@")[2],
        "tags": [],
        "user-variables": {"report_id": str(report_id)} if report_id else {},
        "message": {
            "headers": {
                "to": email,
                "message-id": "20130503182626.18666.16540@example.com",
                "from": "reports@example.com",
                "subject": "A new report",
            }
        },
    }
    if event == "failed":
        data["severity"] = severity
        data["reason"] = "bounce" if severity == "permanent" else "generic"
        data["delivery-status"] = {
            "code": 550 if severity == "permanent" else 452,
            "message": "No such user",
            "description": "",
        }
    body = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": data,
    }
    headers = {"Content-Type": "application/json", **(basic_auth(auth) if auth else {})}
    return "/anymail/mailgun/tracking/", json.dumps(body).encode(), headers


def resend(
    event_type: str,
    *,
    email: str,
    at: datetime,
    svix_id: str = "msg_2Lh9KRb0pzN4LePd3XiA4Tos0NS",
    bounce_type: str = "Permanent",
    report_id: int | None = None,
    secret: str = RESEND_SECRET,
    auth: str = WEBHOOK_SECRET,
    signed_at: datetime | None = None,
) -> Request:
    # Svix signs when it posts (its verifier refuses a signature five minutes old), which
    # may be long after the event happened.
    signed_at = signed_at or datetime.now(UTC)
    data: dict[str, object] = {
        "created_at": _iso(at),
        "email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
        "from": "Gridline Research <reports@example.com>",
        "to": [email],
        "subject": "A new report",
        "headers": [{"name": "X-Metadata", "value": json.dumps({"report_id": report_id})}]
        if report_id
        else [],
    }
    if event_type == "email.bounced":
        data["bounce"] = {
            "message": "The recipient's email provider sent a hard bounce message.",
            "subType": "Suppressed" if bounce_type == "Permanent" else "MailboxFull",
            "type": bounce_type,
        }
    body = json.dumps({"type": event_type, "created_at": _iso(at), "data": data})
    signature = Webhook(secret).sign(svix_id, signed_at, body)
    headers = {
        "Content-Type": "application/json",
        "svix-id": svix_id,
        "svix-timestamp": str(int(signed_at.timestamp())),
        "svix-signature": signature,
        **(basic_auth(auth) if auth else {}),
    }
    return "/anymail/resend/tracking/", body.encode(), headers
