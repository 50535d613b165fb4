"""The example channels file in examples/ stays loadable."""

from __future__ import annotations

from coherence.comms.config import load_channels
from tests.conftest import ROOT


def test_the_example_channels_file_names_every_type() -> None:
    secrets = dict.fromkeys(
        (
            "COHERENCE_SMTP_PASSWORD",
            "COHERENCE_SMS_TOKEN",
            "COHERENCE_WEBHOOK_SECRET",
            "COHERENCE_MATRIX_TOKEN",
        ),
        "x" * 32,
    )
    channels = load_channels(ROOT / "examples" / "channels.yaml", environ=secrets)
    assert set(channels) == {
        "email",
        "sms",
        "webhook",
        "slack",
        "teams",
        "matrix",
        "mqtt",
        "nats",
        "console",
    }
