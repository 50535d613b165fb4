"""The example channels file in examples/ stays loadable."""

from __future__ import annotations

from coherence.comms.config import load_channels
from tests.conftest import ROOT


def test_the_example_channels_file_names_every_type() -> None:
    secrets = {
        name: "x" * 32
        for name in (
            "COHERENCE_SMTP_PASSWORD",
            "COHERENCE_SMS_TOKEN",
            "COHERENCE_WEBHOOK_SECRET",
            "COHERENCE_MATRIX_TOKEN",
        )
    }
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
