"""A real S3-protocol server over TLS with our own CA, for tests and the local stack.

moto's server speaks S3 well enough for pgBackRest but not over its own TLS
(FACTS.md: it drops connections without a TLS close and pgBackRest's PUTs
fail), so it serves plain HTTP on a loopback port and `stunnel4` terminates
TLS in front of it with a certificate for `localhost` signed by a CA made here.
moto keeps buckets in memory and does not check credentials.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .servers import free_port


def make_ca_and_cert(directory: str, hostname: str = "localhost") -> tuple[str, str, str]:
    """(ca.crt, server.crt, server.key) paths: a CA and a certificate naming `hostname` (DNS SAN)."""
    os.makedirs(directory, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backrest-queue test S3 CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tuple(os.path.join(directory, n) for n in ("ca.crt", "server.crt", "server.key"))
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(paths[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    return paths  # type: ignore[return-value]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on port {port}") from None
            time.sleep(0.05)


class S3Server:
    """moto (HTTP, loopback) behind stunnel (TLS, `https://localhost:<port>`)."""

    def __init__(self, directory: str, *, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.moto_port = free_port()
        self.ca_file = self.cert_file = self.key_file = ""
        self._moto: subprocess.Popen | None = None
        self._stunnel: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return "localhost"

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def start(self) -> "S3Server":
        os.makedirs(self.directory, exist_ok=True)
        self.ca_file, self.cert_file, self.key_file = make_ca_and_cert(os.path.join(self.directory, "tls"))
        moto_bin = os.path.join(os.path.dirname(sys.executable), "moto_server")
        log = open(os.path.join(self.directory, "moto.log"), "ab")  # noqa: SIM115 - the child keeps it
        self._moto = subprocess.Popen([moto_bin, "-H", "127.0.0.1", "-p", str(self.moto_port)], stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        _wait_port(self.moto_port, self._moto, "moto_server")
        stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
        if stunnel is None:
            raise RuntimeError("stunnel4 is not installed (scripts/system-packages.sh installs it)")
        conf = os.path.join(self.directory, "stunnel.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"foreground = yes\npid =\nsyslog = no\noutput = {os.path.join(self.directory, 'stunnel.log')}\n"
                    f"[s3]\naccept = 127.0.0.1:{self.port}\nconnect = 127.0.0.1:{self.moto_port}\n"
                    f"cert = {self.cert_file}\nkey = {self.key_file}\n"
                    # `localhost` may resolve to ::1 first (pgBackRest tries only one address)
                    f"[s3-ipv6]\naccept = ::1:{self.port}\nconnect = 127.0.0.1:{self.moto_port}\n"
                    f"cert = {self.cert_file}\nkey = {self.key_file}\n")
        self._stunnel = subprocess.Popen([stunnel, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        _wait_port(self.port, self._stunnel, "stunnel")
        return self

    def create_bucket(self, bucket: str) -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{self.moto_port}/{bucket}", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under `prefix` (plain HTTP to moto, paginated)."""
        import xml.etree.ElementTree as ET

        keys: list[str] = []
        token = None
        while True:
            query = f"list-type=2&prefix={urllib.request.quote(prefix)}"
            if token:
                query += f"&continuation-token={urllib.request.quote(token)}"
            with urllib.request.urlopen(f"http://127.0.0.1:{self.moto_port}/{bucket}?{query}", timeout=10) as resp:
                root = ET.fromstring(resp.read())
            ns = {"s3": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {}
            find = (lambda e, n: e.findall(f"s3:{n}", ns)) if ns else (lambda e, n: e.findall(n))
            keys += [c.text for item in find(root, "Contents") for c in find(item, "Key")]
            nxt = find(root, "NextContinuationToken")
            if not nxt:
                return keys
            token = nxt[0].text

    def stop(self) -> None:
        for proc in (self._stunnel, self._moto):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
