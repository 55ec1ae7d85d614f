# elemental_jwt.py - token minting and checking for the test Elemental API server.
#
# Verification follows what upstream does (internal/api/auth.go with golang-jwt/jwt v5.2.1,
# jwt.ParseWithClaims(token, &RegisteredClaims{...}, keyFunc) and no parser options):
#   * 3 dot-separated segments, each base64url WITHOUT padding      -> else 403
#   * header is a JSON object, claims decode into RegisteredClaims   -> else 403
#     (iss/sub/jti strings, aud string or array of strings, exp/nbf/iat numbers)
#   * header "alg" is a string naming a method golang-jwt knows      -> else 403
#   * alg known but not "EdDSA" (HS256, RS256, none, ...)            -> 401 (!)
#   * public key parse failure / bad Ed25519 signature               -> 403
#   * exp present and now >= exp, or nbf present and now < nbf       -> 403 (leeway 0)
#   * sub, aud, iat, iss are NOT checked upstream: the "expected claims" struct passed
#     to ParseWithClaims is only the decode target.
# "strict" mode (our default) additionally enforces sub and aud and, for host tokens, exp.
# Signatures are checked with PyJWT's Ed25519 algorithm (backed by python3-cryptography);
# keys are parsed with python3-cryptography.
import base64
import binascii
import hashlib
import json
import math
import re
import time

import jwt
from jwt.algorithms import OKPAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)

# Signing methods registered in golang-jwt v5 (jwt.GetSigningMethod knows them).
GO_REGISTERED_ALGS = frozenset([
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "EdDSA", "none"])

REGISTRATION_TOKEN_ISSUER = "ElementalRegistrationReconciler"


class AuthError(Exception):
    status = 403
    prefix = "Forbidden"


class Unauthorized(AuthError):
    status = 401
    prefix = "Unauthorized"


class Forbidden(AuthError):
    status = 403
    prefix = "Forbidden"


# ---------------------------------------------------------------- keys

def new_private_key():
    return Ed25519PrivateKey.generate()


def private_key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_pem(key):
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_private_key_pem(pem):
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("key is not a valid Ed25519 private key")
    return key


_PEM_RE = re.compile(r"-----BEGIN ([^\r\n]*?)-----\r?\n(.*?)-----END \1-----", re.S)


def parse_ed_public_key_pem(pem):
    """Like jwt.ParseEdPublicKeyFromPEM: the first decodable PEM block (label ignored) must
    hold a PKIX SubjectPublicKeyInfo of an Ed25519 key."""
    if isinstance(pem, bytes):
        pem = pem.decode("utf-8", "replace")
    for m in _PEM_RE.finditer(pem or ""):
        body = m.group(2)
        lines = [ln for ln in body.splitlines() if ":" not in ln]  # skip PEM headers
        try:
            der = base64.b64decode("".join("".join(lines).split()), validate=True)
        except (binascii.Error, ValueError):
            continue  # Go's pem.Decode skips undecodable blocks
        key = serialization.load_der_public_key(der)  # raises ValueError if not SPKI
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("key is not a valid Ed25519 public key")
        return key
    raise ValueError("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key")


# ---------------------------------------------------------------- minting

def sign(private_key, claims, headers=None, algorithm="EdDSA"):
    """Sign claims with PyJWT. headers are merged into PyJWT's {"alg","typ"} header."""
    return jwt.encode(claims, private_key, algorithm=algorithm, headers=headers)


def registration_claims(uri, token_duration_ns=0, now=None):
    """Claims exactly as upstream's ElementalRegistrationReconciler.setNewToken builds them."""
    now = int(time.time() if now is None else now)
    claims = {"iss": REGISTRATION_TOKEN_ISSUER, "sub": uri, "aud": [uri]}
    if token_duration_ns:
        claims["exp"] = int(now + token_duration_ns / 1e9)
    claims["nbf"] = now
    claims["iat"] = now
    return claims


def host_claims(host_name, registration_uri, agent_version="test", now=None, lifetime=60):
    """Claims like upstream's agent client.newToken (what the C++ agent must send)."""
    now = int(time.time() if now is None else now)
    return {"iss": "elemental-agent/%s" % agent_version, "sub": host_name,
            "aud": [registration_uri], "exp": now + lifetime, "nbf": now - 2, "iat": now}


# ---------------------------------------------------------------- verification

def _segment(seg, what):
    # Go: base64.RawURLEncoding -> no '=' padding, url-safe alphabet only.
    if "=" in seg or not re.fullmatch(r"[A-Za-z0-9_\-\r\n]*", seg) or len(seg.replace("\r", "").replace("\n", "")) % 4 == 1:
        raise Forbidden("token is malformed: could not base64 decode %s" % what)
    try:
        return jwt.utils.base64url_decode(seg.replace("\r", "").replace("\n", ""))
    except (binascii.Error, ValueError):
        raise Forbidden("token is malformed: could not base64 decode %s" % what)


def _reject_constant(name):
    raise ValueError("invalid JSON constant %s" % name)


def go_json_loads(data):
    """json.Unmarshal-like: exactly one JSON value, no NaN/Infinity."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return json.loads(data, parse_constant=_reject_constant)


_GO_NUMBER_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")


def go_fold_fields(obj, fields):
    """Map JSON object keys onto Go struct field names: exact match first, then
    case-insensitive (encoding/json's rule). Later keys win."""
    out = {}
    lower = {f.lower(): f for f in fields}
    for k, v in obj.items():
        name = k if k in fields else lower.get(k.lower())
        if name is not None:
            out[name] = v
    return out


def _numeric_date(v, name):
    if v is None:
        return None
    if isinstance(v, bool):
        raise Forbidden("token is malformed: could not JSON decode claim (%s)" % name)
    if isinstance(v, str):  # json.Number accepts a quoted valid number
        if not _GO_NUMBER_RE.match(v):
            raise Forbidden("token is malformed: could not JSON decode claim (%s)" % name)
        v = float(v)
    if not isinstance(v, (int, float)):
        raise Forbidden("token is malformed: could not JSON decode claim (%s)" % name)
    if isinstance(v, float) and not math.isfinite(v):
        raise Forbidden("token is malformed: could not JSON decode claim (%s)" % name)
    return math.floor(v)  # NumericDate truncates to whole seconds


def decode_registered_claims(payload):
    """Decode claims like json.Unmarshal into jwt.RegisteredClaims. Returns a dict with
    iss/sub/jti (str or None), aud (list or None), exp/nbf/iat (int or None)."""
    try:
        obj = go_json_loads(payload)
    except ValueError:
        raise Forbidden("token is malformed: could not JSON decode claim")
    out = {"iss": None, "sub": None, "aud": None, "exp": None, "nbf": None, "iat": None,
           "jti": None}
    if obj is None:
        return out
    if not isinstance(obj, dict):
        raise Forbidden("token is malformed: could not JSON decode claim")
    f = go_fold_fields(obj, ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"])
    for name in ("iss", "sub", "jti"):
        v = f.get(name)
        if v is not None and not isinstance(v, str):
            raise Forbidden("token is malformed: could not JSON decode claim (%s)" % name)
        out[name] = v
    aud = f.get("aud")
    if isinstance(aud, str):
        out["aud"] = [aud]
    elif isinstance(aud, list):
        if not all(isinstance(a, str) for a in aud):
            raise Forbidden("token is malformed: could not JSON decode claim (aud)")
        out["aud"] = aud
    elif aud is not None:
        raise Forbidden("token is malformed: could not JSON decode claim (aud)")
    for name in ("exp", "nbf", "iat"):
        out[name] = _numeric_date(f.get(name), name)
    return out


def verify(token, key_func, now=None, leeway=0.0):
    """Parse and verify a JWT the way upstream's authenticator does.

    key_func() returns an Ed25519PublicKey (or raises ValueError); it is only called for
    alg "EdDSA". Returns (header, claims). Raises Unauthorized or Forbidden."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Forbidden("token is malformed: token contains an invalid number of segments")
    try:
        header = go_json_loads(_segment(parts[0], "header"))
    except ValueError:
        raise Forbidden("token is malformed: could not JSON decode header")
    if header is not None and not isinstance(header, dict):
        raise Forbidden("token is malformed: could not JSON decode header")
    header = header or {}
    claims = decode_registered_claims(_segment(parts[1], "claim"))
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise Forbidden("token is unverifiable: signing method (alg) is unspecified")
    if alg not in GO_REGISTERED_ALGS:
        raise Forbidden("token is unverifiable: signing method (alg) is unavailable")
    signature = _segment(parts[2], "signature")
    if alg != "EdDSA":
        # upstream's keyFunc wraps ErrUnauthorized, which the authenticator checks first
        raise Unauthorized("token is unverifiable: error while executing keyfunc: JWT is "
                           "using unsupported '%s' signing algorithm: unauthorized" % alg)
    try:
        key = key_func()
    except ValueError as e:
        raise Forbidden("token is unverifiable: error while executing keyfunc: %s" % e)
    signing_input = (parts[0] + "." + parts[1]).encode()
    ok = False
    try:
        ok = OKPAlgorithm().verify(signing_input, key, signature)
    except Exception:  # noqa: BLE001 - any failure is an invalid signature
        ok = False
    if not ok:
        raise Forbidden("token signature is invalid: ed25519: verification error")
    now = time.time() if now is None else now
    if claims["exp"] is not None and not now < claims["exp"] + leeway:
        raise Forbidden("token has invalid claims: token is expired")
    if claims["nbf"] is not None and now < claims["nbf"] - leeway:
        raise Forbidden("token has invalid claims: token is not valid yet")
    return header, claims


def strict_problems(kind, header, claims, expected_sub, expected_aud, now=None, leeway=0.0):
    """Checks upstream does NOT make. Returns (enforced, notes): 'enforced' problems make
    a strict-mode server answer 403; 'notes' are only recorded in the request log."""
    enforced, notes = [], []
    if claims.get("sub") != expected_sub:
        enforced.append("sub is %r, expected %r" % (claims.get("sub"), expected_sub))
    aud = claims.get("aud") or []
    if expected_aud not in aud:
        enforced.append("aud is %r, expected to contain %r" % (aud, expected_aud))
    if kind == "host" and claims.get("exp") is None:
        enforced.append("exp is missing")
    if header.get("typ") != "JWT":
        notes.append("header typ is %r, not 'JWT'" % header.get("typ"))
    if kind == "host":
        now = time.time() if now is None else now
        if claims.get("iat") is None:
            notes.append("iat is missing")
        elif claims["iat"] > now + 5 + leeway:
            notes.append("iat is in the future")
        if claims.get("nbf") is None:
            notes.append("nbf is missing")
        if not (claims.get("iss") or "").startswith("elemental-agent/"):
            notes.append("iss is %r, not 'elemental-agent/<version>'" % claims.get("iss"))
        if claims.get("exp") is not None and claims.get("iat") is not None and \
                claims["exp"] - claims["iat"] > 3600:
            notes.append("token lifetime over 1h")
    return enforced, notes


def inspect(token):
    """Best-effort, unverified view of a token for the request log."""
    info = {"sha256": hashlib.sha256(token.encode()).hexdigest()}
    parts = token.split(".")
    try:
        info["header"] = json.loads(jwt.utils.base64url_decode(parts[0]))
        info["claims"] = json.loads(jwt.utils.base64url_decode(parts[1]))
    except Exception:  # noqa: BLE001 - malformed tokens are logged as such
        info["malformed"] = True
    return info
