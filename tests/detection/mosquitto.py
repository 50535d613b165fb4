"""A Mosquitto broker of a test module's own: passwords required, a plain and a TLS listener."""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.chaos.helpers import free_port
from tests.conftest import IN_CI

USER = "coherence-intake"
# Characters that must be percent-encoded in a URL, to prove they are decoded.
PASSWORD = "s3cret/p@ss:w0rd"


@dataclass(frozen=True)
class Mosquitto:
    """Where the broker listens and what it trusts."""

    plain_port: int
    tls_port: int
    ca_file: Path
    log_file: Path

    def url(self, *, password: str = PASSWORD, tls: bool = False) -> str:
        """A URL for the intake, with the user and the (percent-encoded) password."""
        scheme, port = ("mqtts", self.tls_port) if tls else ("mqtt", self.plain_port)
        return f"{scheme}://{USER}:{quote(password, safe='')}@127.0.0.1:{port}"

    async def publish(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish at QoS 1 over the plain listener with the right password."""
        async with aiomqtt.Client(
            "127.0.0.1", self.plain_port, username=USER, password=PASSWORD
        ) as client:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1)


def start(directory: Path) -> Iterator[Mosquitto]:
    """Run Mosquitto from ``directory`` until the generator is closed."""
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    passwd = shutil.which("mosquitto_passwd")
    if binary is None or passwd is None:
        message = "the mosquitto and mosquitto_passwd binaries are not installed"
        if IN_CI:
            pytest.fail(message + "; under CI=true this is a failure, not a skip")
        pytest.skip(message + " (apt-get install mosquitto)")
    ca_file, cert_file, key_file = _certificates(directory)
    passwords = directory / "passwords"
    subprocess.run([passwd, "-b", "-c", str(passwords), USER, PASSWORD], check=True)
    broker = Mosquitto(free_port(), free_port(), ca_file, directory / "mosquitto.log")
    config = directory / "mosquitto.conf"
    config.write_text(
        f"user {getpass.getuser()}\n"
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {passwords}\n"
        "persistence false\n"
        "log_dest stderr\n"
        f"listener {broker.plain_port} 127.0.0.1\n"
        f"listener {broker.tls_port} 127.0.0.1\n"
        f"certfile {cert_file}\n"
        f"keyfile {key_file}\n"
    )
    with broker.log_file.open("wb") as log:
        process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log)
    try:
        _wait_listening(process, broker)
        yield broker
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_listening(process: subprocess.Popen[bytes], broker: Mosquitto) -> None:
    deadline = time.monotonic() + 15
    for port in (broker.plain_port, broker.tls_port):
        while True:
            if process.poll() is not None:
                raise AssertionError(f"mosquitto exited: {broker.log_file.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"mosquitto is not listening on {port}") from None
                time.sleep(0.05)


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate it signs, for 127.0.0.1 and localhost."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Coherence test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "server.pem", "server.key"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file
