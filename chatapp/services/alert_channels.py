"""Sending one alert message: email to a file outbox, through SMTP or AWS SES; SMS through AWS
SNS. The transports are chosen by ALERT_EMAIL_TRANSPORT and ALERT_SMS_TRANSPORT.

A failure is raised as TransientFailure (worth retrying: the server could not be reached,
throttling, a 4xx SMTP reply, a 5xx from AWS) or PermanentFailure (retrying would not help).
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from flask import current_app

EMAIL_TRANSPORTS = ("file", "smtp", "ses")
SMS_TRANSPORTS = ("none", "sns")
OUTBOX_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9]+-[a-z]+\.eml$")
THROTTLING = {"Throttling", "ThrottlingException", "TooManyRequestsException",
              "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure", "InternalError"}


class DeliveryFailure(Exception):
    """A message could not be sent; str() says why."""


class TransientFailure(DeliveryFailure):
    """A failure that may pass: try again later."""


class PermanentFailure(DeliveryFailure):
    """A failure that a retry would meet again."""


def outbox_dir() -> Path:
    """Where the file transport writes its messages (ALERT_OUTBOX_DIR, else instance/outbox)."""
    return Path(current_app.config["ALERT_OUTBOX_DIR"] or Path(current_app.instance_path) / "outbox")


def sms_enabled() -> bool:
    """True when an SMS transport is configured."""
    return current_app.config["ALERT_SMS_TRANSPORT"] != "none"


def send_email(to: str, subject: str, body: str, name: str) -> None:
    """Send a plain-text email by the configured transport; `name` (unique per delivery) names
    the outbox file."""
    config = current_app.config
    transport = config["ALERT_EMAIL_TRANSPORT"]
    message = EmailMessage()
    message["From"] = config["SMTP_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="chatapp")
    message.set_content(body)
    if transport == "file":
        directory = outbox_dir()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.eml").write_bytes(bytes(message))
    elif transport == "smtp":
        _send_smtp(config, message)
    elif transport == "ses":
        _aws("ses", lambda ses: ses.send_email(
            Source=config["SMTP_FROM"], Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}}))
    else:
        raise PermanentFailure(f"ALERT_EMAIL_TRANSPORT {transport!r} is not one of "
                               f"{', '.join(EMAIL_TRANSPORTS)}")


def send_sms(phone: str, text: str) -> None:
    """Send a text message by the configured transport."""
    transport = current_app.config["ALERT_SMS_TRANSPORT"]
    if transport != "sns":
        raise PermanentFailure(f"ALERT_SMS_TRANSPORT is {transport!r}: no SMS can be sent")
    _aws("sns", lambda sns: sns.publish(
        PhoneNumber=phone, Message=text,
        MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                                   "StringValue": "Transactional"}}))


def _send_smtp(config, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]),
                          timeout=float(config["SMTP_TIMEOUT"])) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as refused:
        code, reason = next(iter(refused.recipients.values()))
        raise _by_code(code, f"SMTP refused the recipient: {code} {_text(reason)}") from refused
    except smtplib.SMTPResponseException as error:
        raise _by_code(error.smtp_code,
                       f"SMTP error {error.smtp_code} {_text(error.smtp_error)}") from error
    except (OSError, smtplib.SMTPException) as error:
        raise TransientFailure(f"SMTP server {config['SMTP_HOST']}:{config['SMTP_PORT']} "
                               f"unreachable: {error}") from error


def _by_code(code: int, reason: str) -> DeliveryFailure:
    return TransientFailure(reason) if 400 <= code < 500 else PermanentFailure(reason)


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _aws(service: str, call) -> None:
    config = current_app.config
    client = boto3.client(service, region_name=config["AWS_REGION"],
                          endpoint_url=config["AWS_ENDPOINT_URL"] or None)
    try:
        call(client)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        reason = f"{service.upper()} error {code}: {error.response['Error'].get('Message', '')}"
        if code in THROTTLING or status >= 500:
            raise TransientFailure(reason) from error
        raise PermanentFailure(reason) from error
    except NoCredentialsError as error:
        raise PermanentFailure(f"{service.upper()}: no AWS credentials configured") from error
    except BotoCoreError as error:  # no connection, timeouts
        raise TransientFailure(f"{service.upper()} unreachable: {error}") from error
