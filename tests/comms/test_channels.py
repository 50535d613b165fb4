"""Every notification channel against a real receiver: SMTP, HTTP, MQTT and NATS."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import queue
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import nats
import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jinja2.sandbox import SecurityError
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from coherence.comms.channels import ConsoleChannel, MemoryChannel, OutgoingMessage
from coherence.comms.domain import DeliveryFailed, Outcome
from coherence.comms.http_channels import (
    ChatWebhookChannel,
    HttpGatewayChannel,
    MatrixChannel,
    WebhookChannel,
    verify,
)
from coherence.comms.other_channels import MqttChannel, NatsChannel, SmtpChannel
from tests.conftest import IN_CI

MQTT_URL = os.environ.get("COHERENCE_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
NATS_URL = os.environ.get("COHERENCE_TEST_NATS_URL", "nats://127.0.0.1:4222")
SECRET = "0123456789abcdef-webhook"
ACK = "https://coherence.example/ack/abc?t=1"
JSON_TEMPLATE = '{"to": {{ to|tojson }}, "text": {{ text|tojson }}, "id": {{ message_id|tojson }}}'


def _message(**changes: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "message_id": 17,
        "channel": "test",
        "address": "oncall@example.org",
        "subject": "[CRITICAL] INC-17 Fridge 1 warming",
        "body": "Mixing chamber at 80 mK.\nCheck the pulse tube.",
        "key": f"outbox-{uuid.uuid4().hex[:8]}",
        "ack_url": ACK,
    }
    return OutgoingMessage(**(fields | changes))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fails(outcome: Outcome, send: Callable[[], None]) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        send()
    assert caught.value.outcome is outcome, caught.value.detail
    return caught.value


def _service(url: str, default_port: int, what: str, variable: str) -> str:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "", parts.port or default_port), 2).close()
    except OSError as exc:
        message = f"no {what} at {url} ({exc})"
        if IN_CI:
            pytest.fail(message + "; under CI=true this is a failure, not a skip")
        pytest.skip(message + f"; set {variable} to run this")
    return url


def _smtp(port: int, **changes: Any) -> SmtpChannel:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "",
        "password": "",
        "sender": "pager@coherence.example",
        "timeout_seconds": 1.0,
    }
    return SmtpChannel("email", **(options | changes))


def _gateway(url: str, timeout: float = 1.0, **changes: Any) -> HttpGatewayChannel:
    options: dict[str, Any] = {
        "url": url,
        "method": "POST",
        "headers": {"content-type": "application/json"},
        "body_template": JSON_TEMPLATE,
        "timeout_seconds": timeout,
        "receipt_seconds": None,
        "max_text_chars": 160,
    }
    return HttpGatewayChannel("sms", **(options | changes))


HTTP = ("webhook", "slack", "teams", "matrix", "gateway")
BUILD: dict[str, Callable[[str, float], Any]] = {
    "webhook": lambda url, t: WebhookChannel("webhook", url=url, secret=SECRET, timeout_seconds=t),
    "slack": lambda url, t: ChatWebhookChannel("s", flavour="slack", url=url, timeout_seconds=t),
    "teams": lambda url, t: ChatWebhookChannel("t", flavour="teams", url=url, timeout_seconds=t),
    "matrix": lambda url, t: MatrixChannel(
        "m", homeserver=url, access_token="tk", timeout_seconds=t
    ),
    "gateway": _gateway,
    "smtp-none": lambda url, t: _smtp(urlsplit(url).port or 0, timeout_seconds=t),
    "smtp-starttls": lambda url, t: _smtp(
        urlsplit(url).port or 0, security="starttls", timeout_seconds=t
    ),
    "smtp-tls": lambda url, t: _smtp(urlsplit(url).port or 0, security="tls", timeout_seconds=t),
    "mqtt": lambda url, t: MqttChannel("mqtt", url=url, topic_prefix="p", timeout_seconds=t),
    "nats": lambda url, t: NatsChannel("nats", url=url, subject_prefix="p", timeout_seconds=t),
}


@pytest.fixture
def build() -> Iterator[Callable[..., Any]]:
    """Build a channel of a kind for a URL and timeout, closing HTTP pools afterwards."""
    opened: list[Any] = []

    def make(kind: str, url: str, timeout: float = 1.0) -> Any:
        scheme = kind if kind in ("mqtt", "nats") else "http"
        opened.append(BUILD[kind](url if "://" in url else f"{scheme}://{url}", timeout))
        return opened[-1]

    yield make
    for channel in opened:
        getattr(channel, "close", lambda: None)()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_text_carries_the_ack_link_and_console_prints_it() -> None:
    message, stream, memory = _message(key="outbox-1"), StringIO(), MemoryChannel()
    assert message.text.startswith(f"{message.body}\n\nAcknowledge")
    assert message.text.endswith(f": {ACK}\n")
    assert _message(ack_url=None).text == message.body
    assert (message.as_json()["message_id"], _message(key="").as_json()["message_id"]) == (
        "outbox-1",
        "17",
    )
    ConsoleChannel(stream).send(message)
    memory.send(message)
    assert stream.getvalue().startswith(f"[page #17 via test to {message.address}] ")
    assert "".join(f"    {line}\n" for line in message.text.splitlines()) in stream.getvalue()
    assert memory.sent == [message]


REFUSED_KINDS = [*HTTP, "smtp-none", "smtp-starttls", "smtp-tls", "mqtt"]


@pytest.mark.parametrize("kind", REFUSED_KINDS)
def test_a_closed_port_is_refused(build: Callable[..., Any], kind: str) -> None:
    channel = build(kind, f"127.0.0.1:{_free_port()}", 0.5)
    _fails(Outcome.REFUSED, lambda: channel.send(_message()))


@pytest.mark.parametrize(
    "kind",
    [
        *HTTP,
        "smtp-none",
        "smtp-starttls",
        "smtp-tls",
        "mqtt",
        "nats",
    ],
)
def test_a_silent_server_times_out(build: Callable[..., Any], silent_port: int, kind: str) -> None:
    channel = build(kind, f"127.0.0.1:{silent_port}", 0.3)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as caught:
        channel.send(_message())
    assert time.monotonic() - started < 1.5
    assert caught.value.outcome is Outcome.TIMEOUT, caught.value.detail


def test_nats_gives_up_on_a_closed_port() -> None:
    port, failures = _free_port(), list[BaseException]()
    channel = BUILD["nats"](f"nats://127.0.0.1:{port}", 0.5)

    def attempt() -> None:
        try:
            channel.send(_message())
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(1.5)
    gave_up = not worker.is_alive()
    if not gave_up:
        # Answer the stuck client's next retry and hang up, so that it fails and its thread ends.
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(1)
            listener.settimeout(5)
            listener.accept()[0].close()
        worker.join(5)
    assert gave_up, "NatsChannel.send still retried a closed port after 1.5 s"
    assert isinstance(failures[0], DeliveryFailed)
    assert failures[0].outcome is Outcome.REFUSED


# SMTP


@dataclass
class Inbox:
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == "nobody@example.org":
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def mail(self) -> Any:
        [envelope] = self.envelopes
        return email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )


def _accept_one_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"pager", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder(name, name, key.public_key(), x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pkcs8, plain = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, plain))
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def relay() -> Iterator[Callable[..., tuple[Inbox, int]]]:
    """Start SMTP relays with the given aiosmtpd options; stop them afterwards."""
    started: list[Controller] = []

    def start(**options: Any) -> tuple[Inbox, int]:
        inbox, port = Inbox(), _free_port()
        started.append(Controller(inbox, hostname="127.0.0.1", port=port, **options))
        started[-1].start()
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def secure_relay(
    relay: Callable[..., tuple[Inbox, int]], certificate: tuple[Path, Path]
) -> tuple[Inbox, int, ssl.SSLContext]:
    """A relay that insists on STARTTLS and one login; and a context that trusts it."""
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(*certificate)
    inbox, port = relay(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=_accept_one_login,
    )
    return inbox, port, ssl.create_default_context(cafile=str(certificate[0]))


def test_smtp_delivers_a_plain_email(relay: Callable[..., tuple[Inbox, int]]) -> None:
    inbox, port = relay()
    message = _message()
    _smtp(port).send(message)
    mail = inbox.mail()
    assert inbox.envelopes[0].rcpt_tos == ["oncall@example.org"]
    assert (mail["From"], mail["To"]) == ("pager@coherence.example", "oncall@example.org")
    assert mail["Subject"] == message.subject
    assert mail["X-Coherence-Message-Id"] == message.key
    assert message.key in mail["Message-ID"]
    assert mail["Message-ID"].endswith("@coherence.example>")
    text = mail.get_content().replace("\r\n", "\n")
    assert text.strip() == message.text.strip()
    assert "Acknowledge" in text
    assert ACK in text


def test_smtp_starttls_with_login(secure_relay: tuple[Inbox, int, ssl.SSLContext]) -> None:
    inbox, port, trust = secure_relay
    channel = _smtp(
        port,
        host="localhost",
        security="starttls",
        username="pager",
        password="s3cret",
        tls_context=trust,
    )
    message = _message(ack_url=None)
    channel.send(message)
    mail = inbox.mail()
    assert (mail["To"], mail["Subject"]) == ("oncall@example.org", message.subject)
    assert mail["X-Coherence-Message-Id"] == message.key
    assert "Acknowledge" not in mail.get_content()


def test_smtp_wrong_password_is_rejected(secure_relay: tuple[Inbox, int, ssl.SSLContext]) -> None:
    inbox, port, trust = secure_relay
    channel = _smtp(
        port,
        host="localhost",
        security="starttls",
        username="pager",
        password="guess",
        tls_context=trust,
    )
    _fails(Outcome.REJECTED, lambda: channel.send(_message()))
    assert inbox.envelopes == []


def test_smtp_distrusts_an_unknown_certificate(
    secure_relay: tuple[Inbox, int, ssl.SSLContext],
) -> None:
    inbox, port, _ = secure_relay
    channel = _smtp(port, host="localhost", security="starttls", username="pager", password="x")
    assert "certificate" in _fails(Outcome.ERROR, lambda: channel.send(_message())).detail.lower()
    assert inbox.envelopes == []


def test_smtp_refused_recipient_or_injected_header(
    relay: Callable[..., tuple[Inbox, int]],
) -> None:
    inbox, port = relay()
    refused = _message(address="nobody@example.org")
    assert (
        "nobody@example.org" in _fails(Outcome.REJECTED, lambda: _smtp(port).send(refused)).detail
    )
    with pytest.raises((DeliveryFailed, ValueError)):
        _smtp(port).send(_message(address="oncall@example.org\r\nBcc: thief@example.net"))
    assert inbox.envelopes == []


def test_smtp_a_resent_page_keeps_its_message_id() -> None:
    channel, message = _smtp(1), _message()
    assert channel.build(message)["Message-ID"] == channel.build(message)["Message-ID"]


# HTTP


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Receiver(ThreadingHTTPServer):
    """Records every request and answers each with ``status``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Request] = []
        self.status = 200
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def _record(self) -> None:
        assert isinstance(self.server, Receiver)
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.requests.append(Request(self.command, self.path, headers, body))
        self.send_response(self.server.status)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP endpoint on a free port."""
    server = Receiver()
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [302, 500])
@pytest.mark.parametrize("kind", HTTP)
def test_http_error_answers_are_rejected(
    build: Callable[..., Any], receiver: Receiver, kind: str, status: int
) -> None:
    receiver.status = status
    failure = _fails(Outcome.REJECTED, lambda: build(kind, receiver.url).send(_message()))
    assert str(status) in failure.detail
    assert len(receiver.requests) == 1


def test_webhook_posts_signed_json(build: Callable[..., Any], receiver: Receiver) -> None:
    message = _message()
    build("webhook", f"{receiver.url}/hook").send(message)
    build("webhook", receiver.url).send(_message(key=""))
    got, keyless = receiver.requests
    assert (got.method, got.path, got.headers["content-type"]) == (
        "POST",
        "/hook",
        "application/json",
    )
    assert got.json() == {
        "message_id": message.key,
        "to": message.address,
        "subject": message.subject,
        "text": message.body,
        "ack_url": ACK,
    }
    assert got.headers["x-coherence-message-id"] == got.headers["idempotency-key"] == message.key
    assert keyless.json()["message_id"] == keyless.headers["idempotency-key"] == "17"
    signature, now = got.headers["x-coherence-signature"], time.time()
    assert verify(SECRET, signature, got.body, now=now)
    assert not verify("another-secret-entirely", signature, got.body, now=now)
    assert not verify(SECRET, signature, got.body.replace(b"80 mK", b"10 mK"), now=now)
    assert not verify(SECRET, signature, got.body, now=now + 3600)
    assert not verify(SECRET, "v1=" + signature.split("v1=")[1], got.body, now=now)


def test_slack_posts_subject_and_text(build: Callable[..., Any], receiver: Receiver) -> None:
    message = _message(address="#cryo-oncall")
    build("slack", f"{receiver.url}/slack").send(message)
    [got] = receiver.requests
    assert got.path == "/slack"
    [text] = got.json().values()
    assert message.subject in text
    assert message.text in text


@pytest.mark.parametrize("ack_url", [ACK, None])
def test_teams_posts_an_adaptive_card(
    build: Callable[..., Any], receiver: Receiver, ack_url: str | None
) -> None:
    message = _message(address="cryo team", ack_url=ack_url)
    build("teams", receiver.url).send(message)
    [attachment] = receiver.requests[0].json()["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert [block["text"] for block in card["body"]] == [message.subject, message.body]
    expected = [{"type": "Action.OpenUrl", "title": "Acknowledge", "url": ACK}]
    assert card.get("actions", []) == (expected if ack_url else [])


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_chat_uses_its_url_unless_it_has_none(receiver: Receiver, kind: str) -> None:
    configured = ChatWebhookChannel(kind, flavour=kind, url=receiver.url, timeout_seconds=1)
    configured.send(_message(address="#cryo"))
    configured.send(_message(address="http://not-https.example/hook"))
    assert [request.path for request in receiver.requests] == ["/", "/"]
    unset = ChatWebhookChannel(kind, flavour=kind, url="", timeout_seconds=1)
    _fails(Outcome.NOT_CONFIGURED, lambda: unset.send(_message(address="#cryo")))
    configured.close()
    unset.close()
    assert len(receiver.requests) == 2


def test_matrix_puts_into_the_room_idempotently(
    build: Callable[..., Any], receiver: Receiver
) -> None:
    channel = build("matrix", f"{receiver.url}/")
    message = _message(address="!cryo:example.org", key="outbox-42")
    channel.send(message)
    channel.send(message)
    first, second = receiver.requests
    assert first.method == "PUT"
    assert (
        first.path
        == second.path
        == ("/_matrix/client/v3/rooms/%21cryo%3Aexample.org/send/m.room.message/outbox-42")
    )
    assert first.headers["authorization"] == "Bearer tk"
    assert first.json()["msgtype"] == "m.text"
    assert first.json()["body"] == f"{message.subject}\n\n{message.text}"


def test_gateway_renders_valid_json_from_hostile_text(receiver: Receiver) -> None:
    headers = {"content-type": "application/json", "authorization": "Basic c2VjcmV0"}
    channel = _gateway(f"{receiver.url}/sms", method="PUT", headers=headers, receipt_seconds=90)
    subject = 'Fridge "1"\nwarm </script><b>&'
    message = _message(address="+41790000000", subject=subject)
    channel.send(message)
    channel.close()
    [got] = receiver.requests
    assert (got.method, got.path, got.headers["authorization"]) == (
        "PUT",
        "/sms",
        headers["authorization"],
    )
    assert b"</script>" not in got.body
    one_line = " ".join(subject.split())
    assert got.json() == {"to": "+41790000000", "text": f"{one_line}. {ACK}", "id": message.key}
    assert channel.receipt_seconds == 90


def test_gateway_cuts_the_text_and_fills_a_form() -> None:
    form = "to={{ to|urlencode }}&text={{ text|urlencode }}&ack={{ ack_url|urlencode }}"
    message = _message(address="+41 79&x=1", subject="x" * 300)
    channel = _gateway("http://127.0.0.1:9", body_template=form, max_text_chars=20)
    fields = parse_qs(channel.render(message).decode())
    # The link does not fit in 20 characters, so the text is the subject, cut and marked.
    assert fields == {"to": ["+41 79&x=1"], "text": ["x" * 19 + "…"], "ack": [ACK]}
    channel.close()


@pytest.mark.parametrize(
    ("template", "refused"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", True),
        ("{{ cycler.__init__.__globals__ }}", True),
        ("{{ self.__init__.__globals__ }}", True),
        ("{{ to * 100000000 }}", True),
        ("{{ ''.__class__ }}", True),
        ("{{ '{0.__class__}'.format(to) }}", True),
    ],
)
def test_gateway_templates_cannot_reach_python_internals(
    receiver: Receiver, template: str, refused: bool
) -> None:
    channel = _gateway(receiver.url, body_template=template)
    if refused:
        with pytest.raises(SecurityError):
            channel.render(_message())
        with pytest.raises(SecurityError):
            channel.send(_message())
        assert receiver.requests == []
    else:
        assert channel.render(_message()) == b""
    channel.close()


# MQTT and NATS


@pytest.fixture
def mqtt_inbox() -> Iterator[tuple[str, queue.Queue[mqtt.MQTTMessage]]]:
    """A unique topic prefix on the test broker, already subscribed to, and what arrives."""
    parts = urlsplit(_service(MQTT_URL, 1883, "MQTT broker", "COHERENCE_TEST_MQTT_URL"))
    prefix = f"coherence-test/{uuid.uuid4().hex[:10]}"
    arrived: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, userdata, flags, code, props: c.subscribe(f"{prefix}/#", qos=1)
    client.on_subscribe = lambda c, userdata, mid, codes, props: subscribed.set()
    client.on_message = lambda c, userdata, msg: arrived.put(msg)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    assert subscribed.wait(5), "the test subscriber was not subscribed within 5 s"
    yield prefix, arrived
    client.disconnect()
    client.loop_stop()


def test_mqtt_publishes_json_under_the_prefix(
    mqtt_inbox: tuple[str, queue.Queue[mqtt.MQTTMessage]],
) -> None:
    prefix, arrived = mqtt_inbox
    message = _message(address="control-room")
    MqttChannel("mqtt", url=MQTT_URL, topic_prefix=f"{prefix}/", timeout_seconds=1).send(message)
    got = arrived.get(timeout=2)
    assert (got.topic, got.qos) == (f"{prefix}/control-room", 1)
    assert orjson.loads(got.payload) == message.as_json()


async def _receive_over_nats(url: str, subject: str, send: Callable[[], None]) -> Any:
    connection = await nats.connect(url)
    try:
        subscription = await connection.subscribe(subject)
        await connection.flush()
        await asyncio.to_thread(send)
        return await subscription.next_msg(timeout=2)
    finally:
        await connection.close()


def test_nats_publishes_json_under_the_prefix() -> None:
    url = _service(NATS_URL, 4222, "NATS server", "COHERENCE_TEST_NATS_URL")
    prefix = f"coherence-test.{uuid.uuid4().hex[:10]}"
    channel = NatsChannel("nats", url=url, subject_prefix=f"{prefix}.", timeout_seconds=1)
    message = _message(address="control-room")
    got = asyncio.run(_receive_over_nats(url, f"{prefix}.>", lambda: channel.send(message)))
    assert got.subject == f"{prefix}.control-room"
    assert orjson.loads(got.data) == message.as_json()
