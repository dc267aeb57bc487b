"""Outgoing mail: an outbox folder (data_dir/outbox) by default, SMTP when smtp_host is set.

Send only after the transaction that created the message's reason has committed."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.settings import Settings


def outbox_dir(settings: Settings) -> Path:
    return (settings.data_dir / "outbox").resolve()


def compose(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@autovideo>"
    msg.set_content(body)
    return msg


def _write_outbox(settings: Settings, msg: EmailMessage) -> Path:
    folder = outbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
    tmp = folder / (name + ".tmp")
    tmp.write_bytes(bytes(msg))
    tmp.replace(folder / name)
    return folder / name


def _send_smtp(settings: Settings, msg: EmailMessage) -> None:
    assert settings.smtp_host
    context = ssl.create_default_context()
    if settings.smtp_port == 465:
        with smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, context=context, timeout=30) as smtp:
            _login_and_send(settings, smtp, msg)
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        _login_and_send(settings, smtp, msg)


def _login_and_send(settings: Settings, smtp: smtplib.SMTP, msg: EmailMessage) -> None:
    if settings.smtp_username and settings.smtp_password:
        smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
    smtp.send_message(msg)


async def send(settings: Settings, to: str, subject: str, body: str) -> None:
    msg = compose(settings, to, subject, body)
    if settings.smtp_host:
        await asyncio.to_thread(_send_smtp, settings, msg)
    else:
        await asyncio.to_thread(_write_outbox, settings, msg)
