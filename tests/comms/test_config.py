"""The channels file: every type built under its contact-channel name, secrets from the
environment, and every mistake reported as a ValidationFailed that names it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coherence.comms.channels import ConsoleChannel, OutgoingMessage
from coherence.comms.config import load_channels
from coherence.comms.http_channels import (
    ChatWebhookChannel,
    HttpGatewayChannel,
    MatrixChannel,
    WebhookChannel,
)
from coherence.comms.other_channels import MqttChannel, NatsChannel, SmtpChannel
from coherence.errors import ValidationFailed

FULL = """\
channels:
  email:
    type: smtp
    host: smtp.example.org
    port: ${SMTP_PORT}
    username: pager
    password: ${SMTP_PASSWORD}
    sender: ${MAIL_FROM}
    timeout_seconds: 7
  webhook:
    type: webhook
    url: https://hooks.example.org/coherence
    secret: ${HOOK_SECRET}
  slack:
    type: slack
    url: https://hooks.slack.com/services/T0/B0/X0
  teams:
    type: teams
  matrix:
    type: matrix
    homeserver: https://matrix.example.org
    access_token: ${MATRIX_TOKEN}
  sms:
    type: http_gateway
    url: https://sms.example.org/send
    method: PUT
    headers: {authorization: "Bearer ${SMS_TOKEN}"}
    body_template: '{"from": "${SMS_FROM}", "to": {{ to|tojson }}, "text": {{ text|tojson }}}'
    receipt_seconds: 60
    max_text_chars: 40
  mqtt:
    type: mqtt
    url: mqtt://broker.example.org:1883
  nats:
    type: nats
    url: nats://nats.example.org:4222
    timeout_seconds: 0.5
  console:
    type: console
"""
ENVIRON = {
    "SMTP_PORT": "2525",
    "SMTP_PASSWORD": "mail-password",
    "MAIL_FROM": "pager@lab.example.org",
    "HOOK_SECRET": "a-webhook-secret-of-32-characters",
    "MATRIX_TOKEN": "syt_token",
    "SMS_TOKEN": "sms-token",
    "SMS_FROM": "Coherence",
}
KINDS = {
    "email": SmtpChannel,
    "webhook": WebhookChannel,
    "slack": ChatWebhookChannel,
    "teams": ChatWebhookChannel,
    "matrix": MatrixChannel,
    "sms": HttpGatewayChannel,
    "mqtt": MqttChannel,
    "nats": NatsChannel,
    "console": ConsoleChannel,
}


def _message(address: str = "oncall@example.org") -> OutgoingMessage:
    return OutgoingMessage(
        7, "test", address, "[CRITICAL] INC-7 Fridge 1 warming", "80 mK.", "outbox-7", "https://a/b"
    )


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, environ: dict[str, str] | None = None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        load_channels(path, environ=ENVIRON if environ is None else environ)
    assert caught.value.field == str(path)
    return caught.value


def _only_path(failure: ValidationFailed) -> str:
    [problem] = failure.details["problems"]
    return str(problem["path"])


def test_a_full_file_builds_every_type_under_its_name(tmp_path: Path) -> None:
    channels = load_channels(_write(tmp_path, FULL), environ=ENVIRON)
    assert {name: type(channel) for name, channel in channels.items()} == KINDS
    assert {name: channel.name for name, channel in channels.items()} == {k: k for k in KINDS}
    assert channels["email"].timeout_seconds == 7
    assert channels["nats"].timeout_seconds == 0.5
    assert channels["webhook"].timeout_seconds == 5.0
    assert channels["sms"].receipt_seconds == 60
    assert channels["email"].receipt_seconds is None


def test_variables_are_substituted_from_the_environment(tmp_path: Path) -> None:
    channels = load_channels(_write(tmp_path, FULL), environ=ENVIRON)
    email, sms = channels["email"], channels["sms"]
    assert isinstance(email, SmtpChannel)
    assert isinstance(sms, HttpGatewayChannel)
    assert email.build(_message())["From"] == "pager@lab.example.org"
    rendered = json.loads(sms.render(_message(address="+41790000000")))
    assert rendered["from"] == "Coherence"
    assert rendered["to"] == "+41790000000"
    assert len(rendered["text"]) <= 40
    assert rendered["text"].endswith("https://a/b"), "the acknowledgement link is kept whole"
    for channel in channels.values():
        getattr(channel, "close", lambda: None)()


def test_a_value_from_the_environment_is_taken_literally(tmp_path: Path) -> None:
    text = "channels:\n  sms:\n    type: http_gateway\n    url: https://sms.example.org\n"
    text += "    body_template: ${TEMPLATE}\n"
    environ = {"TEMPLATE": "{{ to }}: [${NOT_A_VARIABLE}]\n- &a *a"}
    sms = load_channels(_write(tmp_path, text), environ=environ)["sms"]
    assert isinstance(sms, HttpGatewayChannel)
    assert sms.render(_message(address="+41")) == b"+41: [${NOT_A_VARIABLE}]\n- &a *a"


def test_the_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, FULL)
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    assert set(load_channels(path)) == set(KINDS)
    monkeypatch.delenv("HOOK_SECRET")
    with pytest.raises(ValidationFailed, match="HOOK_SECRET"):
        load_channels(path)


def test_every_missing_variable_is_named_with_its_path(tmp_path: Path) -> None:
    path = _write(tmp_path, FULL)
    environ = {k: v for k, v in ENVIRON.items() if k not in ("HOOK_SECRET", "SMS_TOKEN")}
    failure = _refused(path, environ)
    assert failure.details["problems"] == [
        {
            "path": "channels.webhook.secret",
            "message": "environment variable HOOK_SECRET is not set",
        },
        {
            "path": "channels.sms.headers.authorization",
            "message": "environment variable SMS_TOKEN is not set",
        },
    ]
    assert "channels.webhook.secret" in str(failure)
    assert failure.as_dict()["problems"] == failure.details["problems"]


def test_a_bad_value_from_the_environment_is_caught_by_validation(tmp_path: Path) -> None:
    failure = _refused(_write(tmp_path, FULL), ENVIRON | {"SMTP_PORT": "submission"})
    [problem] = failure.details["problems"]
    assert problem["path"].startswith("channels.email")
    assert problem["path"].endswith("port")


BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)
CONSOLE = "channels:\n  console:\n    type: console\n"
WEBHOOK = "channels:\n  webhook:\n    type: webhook\n    url: {url}\n    secret: {secret}\n"
GOOD_WEBHOOK = {"url": "https://hooks.example.org/x", "secret": "0123456789abcdef"}


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        pytest.param(
            "channels:\n  carrier-pigeon:\n    type: console\n",
            ("channels.carrier-pigeon", "'email'"),
            id="unknown-channel-key",
        ),
        pytest.param("channels:\n  sms:\n    type: fax\n", ("channels.sms", "'fax'"), id="type"),
        pytest.param(
            WEBHOOK.format(**GOOD_WEBHOOK | {"secret": "short-secret"}),
            ("channels.webhook", "secret", "16 characters"),
            id="short-secret",
        ),
        pytest.param(
            CONSOLE + "    colour: red\n", ("channels.console", "colour", "Extra"), id="extra"
        ),
        pytest.param(
            WEBHOOK.format(**GOOD_WEBHOOK | {"url": "ftp://hooks.example.org/x"}),
            ("channels.webhook", "url", "https?://"),
            id="non-http-url",
        ),
        pytest.param(
            "channels:\n  mqtt:\n    type: mqtt\n    url: http://broker:1883\n",
            ("channels.mqtt", "url"),
            id="mqtt-url",
        ),
        pytest.param(
            "channels:\n  slack:\n    type: slack\n    timeout_seconds: 0\n",
            ("channels.slack", "timeout_seconds", "greater than 0"),
            id="zero-timeout",
        ),
        pytest.param(
            "channels:\n  email:\n    type: smtp\n    host: h\n    sender: a@b\n"
            "    security: ssl\n",
            ("channels.email", "security"),
            id="smtp-security",
        ),
        pytest.param(
            "channels:\n  email:\n    type: smtp\n    host: h\n    sender: nobody\n",
            ("channels.email", "sender"),
            id="smtp-sender",
        ),
        pytest.param(
            "channels:\n  sms:\n    type: http_gateway\n    url: https://sms.example.org\n",
            ("channels.sms", "body_template", "Field required"),
            id="gateway-template-missing",
        ),
        pytest.param(BOMB + "channels: *h\n", ("aliases",), id="alias-bomb"),
        pytest.param("- email\n- sms\n", ("mapping", "list"), id="not-a-mapping"),
        pytest.param("", ("mapping",), id="empty-file"),
        pytest.param("channels: {}\n", ("channels", "at least one channel"), id="no-channels"),
        pytest.param("channels:\n", ("channels", "dictionary"), id="null-channels"),
        pytest.param("channels: [console]\n", ("channels", "dictionary"), id="channel-list"),
        pytest.param("channels:\n  email: smtp\n", ("channels.email",), id="channel-string"),
        pytest.param(CONSOLE + "extra: 1\n", ("extra", "Extra"), id="top-level-extra"),
        pytest.param("channels: [\n", ("not valid YAML", "line 2"), id="broken-yaml"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem(
    tmp_path: Path, text: str, needles: tuple[str, ...]
) -> None:
    failure = _refused(_write(tmp_path, text))
    for needle in needles:
        assert needle in str(failure)


def test_a_missing_file_or_a_directory_is_refused(tmp_path: Path) -> None:
    missing = _refused(tmp_path / "absent.yaml")
    assert "No such file" in str(missing)
    assert _only_path(missing) == _only_path(_refused(tmp_path)) == "(file)"


def test_a_problem_path_is_the_path_in_the_file(tmp_path: Path) -> None:
    text = WEBHOOK.format(**GOOD_WEBHOOK | {"secret": "short"})
    assert _only_path(_refused(_write(tmp_path, text))) == "channels.webhook.secret"


@pytest.mark.parametrize("template", ["'{{ to '", "'{{ to|center(9) }}'"])
def test_a_broken_gateway_template_is_refused(tmp_path: Path, template: str) -> None:
    text = "channels:\n  sms:\n    type: http_gateway\n    url: https://sms.example.org\n"
    _refused(_write(tmp_path, text + f"    body_template: {template}\n"))


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    path.write_bytes(CONSOLE.encode() + "# café\n".encode("latin-1"))
    _refused(path)
