"""Channels over SMTP, MQTT and NATS."""

from __future__ import annotations

import asyncio
import math
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

import nats
import orjson
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from coherence.comms.channels import OutgoingMessage
from coherence.comms.domain import DeliveryFailed, Outcome


class SmtpChannel:
    """Email through an SMTP relay: STARTTLS or implicit TLS, with login when configured."""

    receipt_seconds: float | None = None

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        sender: str,
        timeout_seconds: float,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._host, self._port, self._security = host, port, security
        self._username, self._password, self._sender = username, password, sender
        self._tls = tls_context or ssl.create_default_context()

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """Return the email ``message`` becomes."""
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.address
        # A line break in a header would end it: subjects are one line, whatever they held.
        email["Subject"] = " ".join(message.subject.split())
        email["Date"] = formatdate(localtime=False)
        domain = self._sender.rsplit("@", 1)[-1] or "coherence.invalid"
        key = message.key or str(message.message_id)
        # One Message-ID per outbox message, so a resent page is recognisably the same one.
        email["Message-ID"] = f"<{key}@{domain}>"
        email["X-Coherence-Message-Id"] = key
        email.set_content(message.text)
        return email

    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` by email."""
        try:
            email = self.build(message)
        except ValueError as exc:
            raise DeliveryFailed(Outcome.REJECTED, f"cannot address an email: {exc}") from exc
        try:
            if self._security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self.timeout_seconds, context=self._tls
                )
            else:
                connection = smtplib.SMTP(self._host, self._port, timeout=self.timeout_seconds)
            with connection:
                if self._security == "starttls":
                    connection.starttls(context=self._tls)
                if self._username:
                    connection.login(self._username, self._password)
                connection.send_message(email)
        except ConnectionRefusedError as exc:
            raise DeliveryFailed(
                Outcome.REFUSED, f"SMTP {self._host}:{self._port} refused"
            ) from exc
        except TimeoutError as exc:
            raise DeliveryFailed(
                Outcome.TIMEOUT, f"SMTP {self._host} silent for {self.timeout_seconds:g} s"
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(Outcome.REJECTED, f"SMTP refused {message.address}") from exc
        except smtplib.SMTPResponseException as exc:
            reply = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise DeliveryFailed(
                Outcome.REJECTED, f"SMTP answered {exc.smtp_code}: {reply}"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # smtplib reports a read that timed out as the server going away.
            if isinstance(exc.__context__, TimeoutError):
                raise DeliveryFailed(
                    Outcome.TIMEOUT, f"SMTP {self._host} silent for {self.timeout_seconds:g} s"
                ) from exc
            raise DeliveryFailed(Outcome.ERROR, f"SMTP {self._host}: {exc}") from exc


class MqttChannel:
    """Publishes the message as JSON to ``<prefix>/<address>`` at QoS 1, for control rooms."""

    receipt_seconds: float | None = None

    def __init__(self, name: str, *, url: str, topic_prefix: str, timeout_seconds: float) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 1883
        self._username, self._password = parts.username, parts.password
        self._prefix = topic_prefix.rstrip("/")

    def send(self, message: OutgoingMessage) -> None:
        """Publish ``message`` and wait for the broker to take it."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.connect_timeout = self.timeout_seconds
        if self._username:
            client.username_pw_set(self._username, self._password)
        try:
            client.connect(self._host, self._port, keepalive=30)
        except ConnectionRefusedError as exc:
            raise DeliveryFailed(
                Outcome.REFUSED, f"MQTT {self._host}:{self._port} refused"
            ) from exc
        except OSError as exc:
            raise DeliveryFailed(Outcome.ERROR, f"MQTT {self._host}:{self._port}: {exc}") from exc
        client.loop_start()
        try:
            if "#" in message.address or "+" in message.address:
                raise DeliveryFailed(
                    Outcome.REJECTED, f"MQTT address {message.address!r} holds a wildcard"
                )
            info = client.publish(
                f"{self._prefix}/{message.address}", orjson.dumps(message.as_json()), qos=1
            )
            info.wait_for_publish(timeout=self.timeout_seconds)
            if not info.is_published():
                raise DeliveryFailed(
                    Outcome.TIMEOUT,
                    f"MQTT broker did not confirm within {self.timeout_seconds:g} s",
                )
        finally:
            client.disconnect()
            client.loop_stop()


class NatsChannel:
    """Publishes the message as JSON on ``<prefix>.<address>`` and waits for the server's flush."""

    receipt_seconds: float | None = None

    def __init__(self, name: str, *, url: str, subject_prefix: str, timeout_seconds: float) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._url, self._prefix = url, subject_prefix.rstrip(".")

    def send(self, message: OutgoingMessage) -> None:
        """Publish ``message``."""
        try:
            asyncio.run(self._publish(message))
        except DeliveryFailed:
            raise
        except TimeoutError as exc:
            raise DeliveryFailed(
                Outcome.TIMEOUT, f"NATS {self._url} silent for {self.timeout_seconds:g} s"
            ) from exc
        except Exception as exc:
            raise DeliveryFailed(Outcome.ERROR, f"NATS {self._url}: {exc}") from exc

    async def _publish(self, message: OutgoingMessage) -> None:
        # nats-py retries a dead server forever unless told a positive number of attempts;
        # the overall deadline is what bounds the attempt.
        async with asyncio.timeout(self.timeout_seconds):
            await self._connect_and_publish(message)

    async def _connect_and_publish(self, message: OutgoingMessage) -> None:
        try:
            connection = await nats.connect(
                self._url,
                connect_timeout=self.timeout_seconds,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=_quiet,
            )
        except TimeoutError:
            raise
        except Exception as exc:
            raise DeliveryFailed(Outcome.REFUSED, f"NATS {self._url}: cannot connect") from exc
        try:
            await connection.publish(
                f"{self._prefix}.{message.address}", orjson.dumps(message.as_json())
            )
            await connection.flush(timeout=max(1, math.ceil(self.timeout_seconds)))
        finally:
            await connection.close()


async def _quiet(_error: Exception) -> None:
    """Swallow nats-py's connection error reports; the attempt's outcome says what happened."""
