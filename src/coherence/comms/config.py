"""The channels file: which transport delivers each kind of contact point, and how.

Secrets are not written in the file: ``${NAME}`` anywhere in a string is replaced by the
environment variable ``NAME`` when the file is read, and a missing variable is an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from jinja2 import TemplateError
from pydantic import Field, StringConstraints, field_validator
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.domain import ContactChannel
from coherence.clock import Clock
from coherence.comms import acks
from coherence.comms.channels import Channel, ConsoleChannel
from coherence.comms.dispatcher import Dispatcher
from coherence.comms.http_channels import (
    ChatWebhookChannel,
    HttpGatewayChannel,
    MatrixChannel,
    WebhookChannel,
)
from coherence.comms.other_channels import MqttChannel, NatsChannel, SmtpChannel
from coherence.comms.service import Claimed
from coherence.comms.templating import GATEWAY_SPECIMEN, GATEWAY_TEMPLATES
from coherence.documents import (
    StrictDocument,
    format_location,
    load_yaml_mapping,
    problems_error,
)
from coherence.settings import Settings

Timeout = Annotated[float, Field(gt=0, le=120, description="Seconds before an attempt fails.")]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]
CHANNEL_TYPES = frozenset(
    {"smtp", "webhook", "slack", "teams", "matrix", "http_gateway", "mqtt", "nats", "console"}
)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SmtpSpec(StrictDocument):
    """Email through an SMTP relay."""

    type: Literal["smtp"]
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = ""
    sender: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]
    timeout_seconds: Timeout = 10.0


class WebhookSpec(StrictDocument):
    """A generic JSON webhook signed with HMAC-SHA256."""

    type: Literal["webhook"]
    url: HttpUrl
    secret: Annotated[str, StringConstraints(min_length=16)]
    timeout_seconds: Timeout = 5.0


class ChatSpec(StrictDocument):
    """A Slack- or Teams-compatible incoming webhook."""

    type: Literal["slack", "teams"]
    url: HttpUrl | Literal[""] = ""
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts a contact's own webhook URL may point at, besides url's host; "
        "slack allows hooks.slack.com by default.",
    )
    timeout_seconds: Timeout = 5.0


class MatrixSpec(StrictDocument):
    """A Matrix homeserver and the access token of the account that posts."""

    type: Literal["matrix"]
    homeserver: HttpUrl
    access_token: Annotated[str, StringConstraints(min_length=1)]
    timeout_seconds: Timeout = 5.0


class GatewaySpec(StrictDocument):
    """An SMS, voice or pager gateway taking an HTTP request built from a template."""

    type: Literal["http_gateway"]
    url: HttpUrl
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body_template: str = Field(
        description="Jinja2 (sandboxed) with to, text, subject, body, message_id and ack_url; "
        "use `| tojson` inside JSON."
    )
    max_text_chars: int = Field(160, ge=20, le=10_000)
    receipt_seconds: float | None = Field(
        None, gt=0, le=3600, description="Fail over if no delivery receipt arrives in time."
    )
    timeout_seconds: Timeout = 5.0

    @field_validator("body_template")
    @classmethod
    def _template_renders(cls, value: str) -> str:
        try:
            GATEWAY_TEMPLATES.from_string(value).render(**GATEWAY_SPECIMEN)
        except TemplateError as exc:
            raise ValueError(f"body_template cannot be rendered: {exc}") from None
        return value


class MqttSpec(StrictDocument):
    """Publish to an MQTT broker, for control-room displays."""

    type: Literal["mqtt"]
    url: Annotated[str, StringConstraints(pattern=r"^mqtts?://[^\s]+$")]
    topic_prefix: str = "coherence/pages"
    timeout_seconds: Timeout = 5.0


class NatsSpec(StrictDocument):
    """Publish on a NATS subject, for control-room displays."""

    type: Literal["nats"]
    url: Annotated[str, StringConstraints(pattern=r"^(nats|tls)://[^\s]+$")]
    subject_prefix: str = "coherence.pages"
    timeout_seconds: Timeout = 5.0


class ConsoleSpec(StrictDocument):
    """Print to the worker's standard error."""

    type: Literal["console"]


ChannelSpec = Annotated[
    SmtpSpec
    | WebhookSpec
    | ChatSpec
    | MatrixSpec
    | GatewaySpec
    | MqttSpec
    | NatsSpec
    | ConsoleSpec,
    Field(discriminator="type"),
]


class ChannelsFile(StrictDocument):
    """The whole channels file: one transport per kind of contact point."""

    channels: dict[ContactChannel, ChannelSpec]

    @field_validator("channels")
    @classmethod
    def _not_empty(cls, value: dict[ContactChannel, Any]) -> dict[ContactChannel, Any]:
        if not value:
            raise ValueError("name at least one channel")
        return value


def load_channels(path: Path, *, environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """Read the channels file at ``path`` and build each channel it names."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise problems_error(source, [{"path": "(file)", "message": str(exc)}]) from None
    data = load_yaml_mapping(text, source=source)
    missing: list[dict[str, str]] = []
    data = _substitute(data, environ if environ is not None else os.environ, "", missing)
    if missing:
        raise problems_error(source, missing)
    try:
        document = ChannelsFile.model_validate(data)
    except PydanticValidationError as exc:
        raise problems_error(source, _without_type_tags(exc)) from None
    return {kind.value: build(kind.value, spec) for kind, spec in document.channels.items()}


def make_dispatcher(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    channels: Mapping[str, Channel] | None = None,
) -> Dispatcher:
    """Build the dispatcher the settings describe; ``channels`` replaces the channels file.

    Without a channels file every message goes to the console, as in development. With one,
    a contact point whose channel the file does not name fails over to the next.
    """
    if channels is None and settings.channels_file is not None:
        channels = load_channels(settings.channels_file)
    base, secret = settings.resolved_public_url, settings.secret_key

    def ack_link(message: Claimed) -> str | None:
        if message.incident_id is None:
            return None
        expires = acks.expiry(clock.now())
        return f"{base}/ack/{acks.make_token(secret, message_id=message.id, expires_at=expires)}"

    return Dispatcher(
        factory,
        clock=clock,
        channels=channels or {},
        fallback=ConsoleChannel() if channels is None else None,
        concurrency=settings.dispatch_concurrency,
        batch=settings.dispatch_batch,
        lease_seconds=settings.dispatch_lease_seconds,
        ack_link=ack_link,
    )


def _without_type_tags(exc: PydanticValidationError) -> list[dict[str, str]]:
    """Problems without the union's type tag: ``channels.sms.url``, not ``sms.http_gateway.url``."""
    problems = []
    for error in exc.errors(include_url=False):
        location = list(error["loc"])
        if len(location) >= 3 and location[0] == "channels" and location[2] in CHANNEL_TYPES:
            del location[2]
        problems.append({"path": format_location(location), "message": error["msg"]})
    return problems


def build(name: str, spec: Any) -> Channel:
    """Return the channel ``spec`` describes, named ``name``."""
    if isinstance(spec, SmtpSpec):
        return SmtpChannel(
            name,
            host=spec.host,
            port=spec.port,
            security=spec.security,
            username=spec.username,
            password=spec.password,
            sender=spec.sender,
            timeout_seconds=spec.timeout_seconds,
        )
    if isinstance(spec, WebhookSpec):
        return WebhookChannel(
            name, url=spec.url, secret=spec.secret, timeout_seconds=spec.timeout_seconds
        )
    if isinstance(spec, ChatSpec):
        defaults = ["hooks.slack.com"] if spec.type == "slack" else []
        return ChatWebhookChannel(
            name,
            flavour=spec.type,
            url=spec.url,
            timeout_seconds=spec.timeout_seconds,
            allowed_hosts=[*defaults, *spec.allowed_hosts],
        )
    if isinstance(spec, MatrixSpec):
        return MatrixChannel(
            name,
            homeserver=spec.homeserver,
            access_token=spec.access_token,
            timeout_seconds=spec.timeout_seconds,
        )
    if isinstance(spec, GatewaySpec):
        return HttpGatewayChannel(
            name,
            url=spec.url,
            method=spec.method,
            headers=spec.headers,
            body_template=spec.body_template,
            timeout_seconds=spec.timeout_seconds,
            receipt_seconds=spec.receipt_seconds,
            max_text_chars=spec.max_text_chars,
        )
    if isinstance(spec, MqttSpec):
        return MqttChannel(
            name, url=spec.url, topic_prefix=spec.topic_prefix, timeout_seconds=spec.timeout_seconds
        )
    if isinstance(spec, NatsSpec):
        return NatsChannel(
            name,
            url=spec.url,
            subject_prefix=spec.subject_prefix,
            timeout_seconds=spec.timeout_seconds,
        )
    return ConsoleChannel(name=name)


def _substitute(
    value: Any, environ: Mapping[str, str], where: str, missing: list[dict[str, str]]
) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                missing.append(
                    {
                        "path": where or "(root)",
                        "message": f"environment variable {name} is not set",
                    }
                )
                return ""
            return environ[name]

        return _VARIABLE.sub(lookup, value)
    if isinstance(value, dict):
        return {
            k: _substitute(v, environ, f"{where}.{k}" if where else str(k), missing)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, environ, f"{where}[{i}]", missing) for i, v in enumerate(value)]
    return value
