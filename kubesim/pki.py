"""kubesim's CA, serving certificate, tokens and kubeconfig.

kubectl sends a bearer token only over HTTPS, so kubesim serves TLS with a CA
of its own, generated once per state directory and written into the
kubeconfig and into every pod's service-account mount.  Tokens: the admin
token lives in `tokens.csv` (the kube-apiserver `--token-auth-file` format:
`token,user,uid,"group1,group2"`); service-account tokens are HMACs, so any
token kubesim issued can be checked without keeping a list.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import os
import secrets
import ssl
from dataclasses import dataclass

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local", "kubesim")
SA_PREFIX = "kubesim-sa."


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _make_ca(directory: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubesim-ca")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    _write_private(os.path.join(directory, "ca.key"), _key_pem(key))
    with open(os.path.join(directory, "ca.crt"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def _make_server_cert(directory: str) -> None:
    with open(os.path.join(directory, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(directory, "ca.crt"), "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    sans = [x509.DNSName(n) for n in SERVER_NAMES] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_private(os.path.join(directory, "server.key"), _key_pem(key))
    with open(os.path.join(directory, "server.crt"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


@dataclass
class Pki:
    """Paths of the PKI files in `<state>/pki` and the tokens kubesim accepts."""

    directory: str
    admin_token: str
    sa_key: bytes

    @property
    def ca_file(self) -> str:
        return os.path.join(self.directory, "ca.crt")

    def ca_pem(self) -> str:
        with open(self.ca_file, encoding="ascii") as f:
            return f.read()

    def server_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(self.directory, "server.crt"), os.path.join(self.directory, "server.key"))
        return ctx

    def service_account_token(self, namespace: str, name: str) -> str:
        subject = f"{namespace}:{name}"
        mac = hmac.new(self.sa_key, subject.encode(), hashlib.sha256).hexdigest()[:32]
        return SA_PREFIX + base64.urlsafe_b64encode(subject.encode()).decode().rstrip("=") + "." + mac

    def authenticate(self, token: str) -> str | None:
        """The user a bearer token names, or None."""
        if hmac.compare_digest(token, self.admin_token):
            return "kubesim-admin"
        if token.startswith(SA_PREFIX):
            try:
                encoded, mac = token[len(SA_PREFIX):].rsplit(".", 1)
                subject = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            except (ValueError, UnicodeDecodeError):
                return None
            want = hmac.new(self.sa_key, subject.encode(), hashlib.sha256).hexdigest()[:32]
            if hmac.compare_digest(mac, want):
                return "system:serviceaccount:" + subject
        return None


def load_or_create(state_dir: str) -> Pki:
    directory = os.path.join(state_dir, "pki")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if not os.path.exists(os.path.join(directory, "ca.crt")):
        _make_ca(directory)
    if not os.path.exists(os.path.join(directory, "server.crt")):
        _make_server_cert(directory)
    tokens = os.path.join(directory, "tokens.csv")
    if not os.path.exists(tokens):
        _write_private(tokens, f'{secrets.token_urlsafe(32)},kubesim-admin,kubesim-admin,"system:masters"\n'
                       .encode())
    with open(tokens, encoding="ascii") as f:
        admin_token = f.readline().split(",", 1)[0]
    sa_key_path = os.path.join(directory, "sa.key")
    if not os.path.exists(sa_key_path):
        _write_private(sa_key_path, secrets.token_bytes(32))
    with open(sa_key_path, "rb") as f:
        sa_key = f.read()
    return Pki(directory, admin_token, sa_key)


def kubeconfig(server: str, pki: Pki, *, token: str | None = None, context: str = "kubesim") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(pki.ca_pem().encode()).decode()}}],
        "users": [{"name": "kubesim-admin", "user": {"token": token or pki.admin_token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": "kubesim-admin",
                                                   "namespace": "default"}}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: str, config: dict) -> None:
    """Written atomically (a reader polling for the file never sees half of it), mode 0600."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".tmp"
    _write_private(tmp, yaml.safe_dump(config, sort_keys=False).encode())
    os.replace(tmp, path)
