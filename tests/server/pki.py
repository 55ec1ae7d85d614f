#!/usr/bin/python3
# pki.py - makes the test CA and the server certificate for the test Elemental API server.
#
#   /usr/bin/python3 tests/server/pki.py OUTDIR [--dns NAME ...] [--ip ADDR ...]
#
# writes OUTDIR/ca.pem, ca.key, server.pem, server.key (PEM). The server certificate
# names DNS:localhost and IP:127.0.0.1 by default (mbedTLS does not match IP names, so
# clients use https://localhost:PORT). RSA-2048 keys with SHA-256 signatures: what
# mbedTLS 2.28 and every other TLS stack accept. --expired and --ca-dir help negative tests
# (an expired server certificate, or a server certificate signed by a CA made earlier).
import argparse
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def make_ca(outdir, common_name="Elemental Test CA", days=3650):
    os.makedirs(outdir, exist_ok=True)
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write(os.path.join(outdir, "ca.pem"), cert.public_bytes(serialization.Encoding.PEM))
    _write(os.path.join(outdir, "ca.key"), _key_pem(key), 0o600)
    return os.path.join(outdir, "ca.pem"), os.path.join(outdir, "ca.key")


def make_server_cert(outdir, ca_dir=None, dns_names=("localhost",), ips=("127.0.0.1",),
                     expired=False, days=825, basename="server"):
    ca_dir = ca_dir or outdir
    with open(os.path.join(ca_dir, "ca.pem"), "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(ca_dir, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    if expired:
        start, end = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
    else:
        start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=days)
    sans = [x509.DNSName(n) for n in dns_names] + \
           [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cn = dns_names[0] if dns_names else "elemental-test-server"
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=True, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path = os.path.join(outdir, basename + ".pem")
    key_path = os.path.join(outdir, basename + ".key")
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(key_path, _key_pem(key), 0o600)
    return cert_path, key_path


def make_pki(outdir, dns_names=("localhost",), ips=("127.0.0.1",), ca_dir=None,
             expired=False):
    """Returns dict(ca=..., ca_key=..., cert=..., key=...) of file paths."""
    os.makedirs(outdir, exist_ok=True)
    if ca_dir is None:
        make_ca(outdir)
        ca_dir = outdir
    cert, key = make_server_cert(outdir, ca_dir, tuple(dns_names), tuple(ips), expired)
    return {"ca": os.path.join(ca_dir, "ca.pem"), "ca_key": os.path.join(ca_dir, "ca.key"),
            "cert": cert, "key": key}


def main(argv=None):
    ap = argparse.ArgumentParser(description="make a test CA and server certificate")
    ap.add_argument("outdir")
    ap.add_argument("--dns", action="append", help="DNS SAN (default: localhost); repeatable")
    ap.add_argument("--ip", action="append", help="IP SAN (default: 127.0.0.1); repeatable")
    ap.add_argument("--ca-dir", help="sign with the CA already in this directory")
    ap.add_argument("--expired", action="store_true", help="server certificate already expired")
    a = ap.parse_args(argv)
    paths = make_pki(a.outdir, a.dns or ["localhost"], a.ip if a.ip is not None
                     else ["127.0.0.1"], a.ca_dir, a.expired)
    for k in ("ca", "cert", "key"):
        print("%s=%s" % (k, paths[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
