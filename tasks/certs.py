"""Per-cluster TLS for pgBackRest's servers: one CA, a certificate for the primary and one for the repo host.

Each certificate serves both ways (serverAuth and clientAuth): the repo host
connects to the primary's `pgbackrest server` for backups, the primary
connects to the repo host's for archive-push (and a restore pod, holding the
primary's certificate, for restores).  pgBackRest checks the host name it
dialled against the certificate, so names are the Services' DNS names; the
client's CN is what `tls-server-auth` allows.
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 3650


def _pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _dns_names(service: str, namespace: str) -> list[str]:
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]


def _issue(ca_key, ca_name: x509.Name, common_name: str, dns: list[str], now: dt.datetime):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def cluster_pems(cluster: str, namespace: str, repo_host: str) -> dict[str, str]:
    """`ca.crt`, `primary.crt/.key` (CN = the cluster's Service), `repo.crt/.key` (CN = the repo host's Service)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"backrest-queue {namespace}/{cluster} CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    primary, primary_key = _issue(ca_key, ca_name, cluster, _dns_names(cluster, namespace), now)
    repo, repo_key = _issue(ca_key, ca_name, repo_host, _dns_names(repo_host, namespace), now)
    return {"ca.crt": _pem_cert(ca), "primary.crt": _pem_cert(primary), "primary.key": _pem_key(primary_key),
            "repo.crt": _pem_cert(repo), "repo.key": _pem_key(repo_key)}
