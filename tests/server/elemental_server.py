#!/usr/bin/python3
# elemental_server.py - test implementation of the Elemental API (the management-cluster
# side of the Cluster API Elemental provider) for the agent's integration tests and demo.
#
# It answers the five calls of spec/elemental-openapi.yaml with upstream's status codes,
# bodies and token checks (see elemental_jwt.py), keeps its state in SQLite (shared with
# elemental_admin.py, the kubectl stand-in), records every request, and can inject faults.
#
#   /usr/bin/python3 tests/server/elemental_server.py --db state.db --listen 127.0.0.1:0 \
#       --tls-cert server.pem --tls-key server.key --ca ca.pem --log server.log
#
# prints "READY https://localhost:PORT" once listening; SIGTERM/SIGINT stop it cleanly.
import argparse
import http.server
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elemental_jwt as ejwt  # noqa: E402
import elemental_store as es  # noqa: E402

_SEG = r"([^/]+)"
_BASE = r"/elemental/v1/namespaces/" + _SEG + "/registrations/" + _SEG
ROUTES = [
    (re.compile(_BASE + r"\Z"), {"GET": "get_registration"}),
    (re.compile(_BASE + r"/hosts\Z"), {"POST": "create_host"}),
    (re.compile(_BASE + r"/hosts/" + _SEG + r"\Z"), {"PATCH": "patch_host",
                                                     "DELETE": "delete_host"}),
    (re.compile(_BASE + r"/hosts/" + _SEG + r"/bootstrap\Z"), {"GET": "get_bootstrap"}),
]

BAD_JSON_BODY = b'{"name": "broken", "labels": {"a": '
TEXT = "text/plain; charset=utf-8"


class Response:
    def __init__(self, status, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = list(headers or [])
        if content_type:
            self.headers.append(("Content-Type", content_type))


def text(status, message):
    return Response(status, message, TEXT if message else None)


def json_response(obj):
    return Response(200, es.go_json_dumps(obj), "application/json")


# ---------------------------------------------------------------- request body decoding

def _type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _type_error(v, struct, field, gotype):
    return ValueError("json: cannot unmarshal %s into Go struct field %s.%s of type %s"
                      % (_type_name(v), struct, field, gotype))


def go_decode_body(body, struct, fields):
    """json.NewDecoder(body).Decode(&struct): the first JSON value of the body must be an
    object (or null); keys match field names exactly or case-insensitively; wrong types
    are errors; unknown keys and trailing data are ignored."""
    text_ = body.decode("utf-8", "replace")
    i = len(text_) - len(text_.lstrip(" \t\r\n"))
    if i >= len(text_):
        raise ValueError("EOF")
    try:
        value, _ = json.JSONDecoder(parse_constant=ejwt._reject_constant).raw_decode(text_, i)
    except ValueError as e:
        raise ValueError("invalid JSON: %s" % e)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("json: cannot unmarshal %s into Go value of type api.%s"
                         % (_type_name(value), struct))
    out, first_error = {}, None
    for name, v in ejwt.go_fold_fields(value, list(fields)).items():
        kind = fields[name]
        try:
            out[name] = _decode_field(v, kind, struct, name)
        except ValueError as e:
            first_error = first_error or e
    if first_error:
        raise first_error
    return out


def _decode_field(v, kind, struct, name):
    if v is None:
        return None
    if kind == "string":
        if not isinstance(v, str):
            raise _type_error(v, struct, name, "string")
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise _type_error(v, struct, name, "bool")
        return v
    if kind == "map":
        if not isinstance(v, dict):
            raise _type_error(v, struct, name, "map[string]string")
        out = {}
        for k, x in v.items():
            if x is not None and not isinstance(x, str):
                raise _type_error(x, struct, name, "string")
            out[k] = x or ""
        return out
    if kind == "condition":
        if not isinstance(v, dict):
            raise _type_error(v, struct, name, "v1beta1.Condition")
        f = ejwt.go_fold_fields(v, ["type", "status", "severity", "lastTransitionTime",
                                    "reason", "message"])
        cond = {}
        for k in ("type", "status", "severity", "reason", "message"):
            x = f.get(k)
            if x is not None and not isinstance(x, str):
                raise _type_error(x, "Condition", k, "string")
            cond[k] = x or ""
        ltt = f.get("lastTransitionTime")
        if ltt is not None:
            if not isinstance(ltt, str):
                raise _type_error(ltt, "Condition", "lastTransitionTime", "string")
            cond["lastTransitionTime"] = es.parse_rfc3339(ltt)
        return cond
    raise AssertionError(kind)


CREATE_FIELDS = {"Auth": "string", "RegAuth": "string", "Namespace": "string",
                 "RegistrationName": "string", "name": "string", "annotations": "map",
                 "labels": "map", "pubKey": "string"}
PATCH_FIELDS = {"Auth": "string", "Namespace": "string", "RegistrationName": "string",
                "HostName": "string", "annotations": "map", "labels": "map",
                "bootstrapped": "bool", "installed": "bool", "reset": "bool",
                "inPlaceUpdate": "string", "condition": "condition", "phase": "string"}


# ---------------------------------------------------------------- the API

class Api:
    """The five Elemental API handlers, in upstream's order of checks."""

    def __init__(self, store, default_auth_mode="strict", default_leeway=0.0):
        self.store = store
        self.default_auth_mode = default_auth_mode
        self.default_leeway = default_leeway

    # -- auth
    def _mode(self):
        return self.store.get_setting("auth_mode", self.default_auth_mode)

    def _leeway(self):
        return float(self.store.get_setting("leeway", self.default_leeway))

    @staticmethod
    def _bearer(headers, name):
        value = (headers.get(name) or "").strip(" \t")
        if not value:
            raise ejwt.Unauthorized("missing '%s' header: unauthorized" % name)
        if not value.startswith("Bearer "):
            raise ejwt.Unauthorized("not a 'Bearer' token: unauthorized")
        return value[len("Bearer "):]

    def _check(self, ctx, kind, headers, header_name, key_func, expected_sub, expected_aud):
        slot = "authorization" if header_name == "Authorization" else \
            "registration_authorization"
        info = ctx.setdefault("auth", {}).setdefault(slot, {})
        try:
            token = self._bearer(headers, header_name)
            info.update(ejwt.inspect(token))
            leeway = self._leeway()
            header, claims = ejwt.verify(token, key_func, leeway=leeway)
            enforced, notes = ejwt.strict_problems(kind, header, claims, expected_sub,
                                                   expected_aud, leeway=leeway)
            info["verified"] = True
            info["strict_problems"] = enforced
            info["notes"] = notes
            if enforced and self._mode() == "strict":
                raise ejwt.Forbidden("validating JWT token (strict mode): %s: forbidden"
                                     % "; ".join(enforced))
        except ejwt.AuthError as e:
            info["error"] = str(e)
            raise es.ApiError(e.status, "%s: %s" % (e.prefix, e))

    def _auth_host(self, ctx, headers, host_name, pub_key, reg):
        self._check(ctx, "host", headers, "Authorization",
                    lambda: ejwt.parse_ed_public_key_pem(pub_key), host_name, _uri(reg))

    def _auth_registration(self, ctx, headers, reg, priv_pem):
        self._check(ctx, "registration", headers, "Registration-Authorization",
                    lambda: ejwt.load_private_key_pem(priv_pem).public_key(),
                    _uri(reg), _uri(reg))

    # -- lookups
    def _registration(self, ns, name):
        reg, priv = self.store.get_registration(ns, name)
        if reg is None:
            raise es.ApiError(404, "ElementalRegistration '%s' not found" % name)
        return reg, priv

    def _host(self, ns, name, c=None):
        host = self.store.get_host(ns, name, c)
        if host is None:
            raise es.ApiError(404, "ElementalHost '%s' not found" % name)
        return host

    # -- handlers
    def get_registration(self, ctx, headers, body, ns, reg_name):
        reg, priv = self._registration(ns, reg_name)
        self._auth_registration(ctx, headers, reg, priv)
        return json_response(es.registration_response(reg))

    def create_host(self, ctx, headers, body, ns, reg_name):
        reg, priv = self._registration(ns, reg_name)
        try:
            req = go_decode_body(body, "HostCreateRequest", CREATE_FIELDS)
        except ValueError as e:
            raise es.ApiError(400, "Could not decode request body: %s" % e)
        name = req.get("name") or ""
        ctx["host"] = name
        self._auth_host(ctx, headers, name, req.get("pubKey") or "", reg)
        self._auth_registration(ctx, headers, reg, priv)
        problem = es.name_problem(name) or es.metadata_problem(req.get("labels"),
                                                               req.get("annotations"))
        if problem:
            ctx["error"] = problem
            raise es.ApiError(500, "Could not create Elemental Host '%s'" % name)
        with self.store.tx() as c:
            if self.store.get_host(ns, name, c) is not None:
                raise es.ApiError(409, "Host '%s' in namespace '%s' already exists"
                                  % (ns, name))  # (sic) upstream swaps the two
            host = es.new_host(ns, name, req.get("labels"), req.get("annotations"),
                               req.get("pubKey"), reg)
            self.store.add_event(c, host, "api", {"created": True,
                                                  "labels": host["metadata"]["labels"]})
            self.store.reconcile_and_write(c, host)
        location = "%s/namespaces/%s/registrations/%s/hosts/%s" % (es.API_PREFIX, ns,
                                                                  reg_name, name)
        return Response(201, b"", headers=[("Location", location)])

    def patch_host(self, ctx, headers, body, ns, reg_name, host_name):
        reg, _ = self._registration(ns, reg_name)
        host = self._host(ns, host_name)
        self._auth_host(ctx, headers, host_name, host.get("spec", {}).get("pubKey", ""), reg)
        try:
            req = go_decode_body(body, "HostPatchRequest", PATCH_FIELDS)
        except ValueError as e:
            raise es.ApiError(400, "Could not decode request: %s" % e)
        with self.store.tx() as c:
            host = self.store.get_host(ns, host_name, c)
            if host is None:
                raise es.ApiError(404, "Updated ElementalHost '%s' not found" % host_name)
            if req.get("bootstrapped") is True and not host.get("spec", {}).get(
                    "bootstrapSecret"):
                raise es.ApiError(400, "Can't mark the Host as bootstrapped if no bootstrap "
                                       "secret has been associated yet.")
            before = json.loads(json.dumps(host))
            apply_patch(host, req)
            md = host["metadata"]
            problem = es.metadata_problem(md.get("labels"), md.get("annotations"))
            if problem:
                # the metadata patch is refused by the API server, the status patch is not
                ctx["error"] = problem
                md["labels"] = before["metadata"].get("labels", {})
                md["annotations"] = before["metadata"].get("annotations", {})
            change = es.diff_host(before, host)
            if req.get("condition") is not None:
                change["condition"] = req["condition"]
            self.store.add_event(c, host, "api", change)
            stored = self.store.write_host(c, host)
            response = es.host_response(host)
            if stored is not None:
                self.store.reconcile_and_write(c, host)
        if problem:
            raise es.ApiError(500, "Could not patch ElementalHost '%s'" % host_name)
        return json_response(response)

    def delete_host(self, ctx, headers, body, ns, reg_name, host_name):
        reg, _ = self._registration(ns, reg_name)
        host = self._host(ns, host_name)
        self._auth_host(ctx, headers, host_name, host.get("spec", {}).get("pubKey", ""), reg)
        with self.store.tx() as c:
            host = self.store.get_host(ns, host_name, c)
            if host is not None and not host["metadata"].get("deletionTimestamp"):
                self.store.mark_deleted(c, host, "api")
        return Response(202)

    def get_bootstrap(self, ctx, headers, body, ns, reg_name, host_name):
        reg, _ = self._registration(ns, reg_name)
        host = self._host(ns, host_name)
        self._auth_host(ctx, headers, host_name, host.get("spec", {}).get("pubKey", ""), reg)
        ref = host.get("spec", {}).get("bootstrapSecret")
        if not ref:
            raise es.ApiError(404, "There is no associated boostrap secret yet")  # (sic)
        secret = self.store.get_secret(ref.get("namespace") or ns, ref.get("name", ""))
        if secret is None:
            raise es.ApiError(500, "Could not find expected Bootstrap secret")
        if "value" not in secret:
            raise es.ApiError(500, "Could not prepare bootstrap response: CAPI bootstrap "
                                   "secret does not contain any config")
        return json_response({"format": secret.get("format", "cloud-config"),
                              "config": secret["value"]})

    # -- routing
    def handle(self, method, path, headers, body, ctx):
        raw_path = urllib.parse.urlsplit(path).path
        cleaned = clean_path(raw_path)
        if cleaned != raw_path:
            return Response(301, b"", headers=[("Location", cleaned)])
        upath = urllib.parse.unquote(raw_path)
        for rx, methods in ROUTES:
            m = rx.match(upath)
            if not m:
                continue
            if method not in methods:
                return Response(405)
            try:
                return getattr(self, methods[method])(ctx, headers, body, *m.groups())
            except es.ApiError as e:
                return text(e.status, e.message)
        return text(404, "404 page not found\n")


def _uri(reg):
    return reg["spec"]["config"]["elemental"]["registration"].get("uri", "")


def apply_patch(host, req):
    """api.HostPatchRequest.applyToElementalHost."""
    md = host["metadata"]
    labels = md.setdefault("labels", {})
    annotations = md.setdefault("annotations", {})
    annotations.update(req.get("annotations") or {})
    labels.update(req.get("labels") or {})
    # note: upstream sets "true" whenever the field is present, even for false
    if req.get("installed") is not None:
        labels[es.LABEL_INSTALLED] = "true"
    if req.get("bootstrapped") is not None:
        labels[es.LABEL_BOOTSTRAPPED] = "true"
    if req.get("reset") is not None:
        labels[es.LABEL_RESET] = "true"
    if req.get("inPlaceUpdate") is not None:
        labels[es.LABEL_IN_PLACE_UPDATE] = req["inPlaceUpdate"]
    es.set_condition(host, req.get("condition"))
    es.set_summary(host)
    if req.get("phase") is not None:
        host.setdefault("status", {})["phase"] = req["phase"]


def clean_path(p):
    """Go's path.Clean as gorilla/mux applies it (trailing slash kept)."""
    if p == "":
        return "/"
    if p[0] != "/":
        p = "/" + p
    parts = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    np = "/" + "/".join(parts)
    if p.endswith("/") and np != "/":
        np += "/"
    return np


# ---------------------------------------------------------------- HTTP plumbing

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "elemental-test-server"
    sys_version = ""
    timeout = 60

    def do_GET(self):
        self._dispatch()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, fmt, *args):
        self.server.log("%s %s" % (self.client_address[0], fmt % args))

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self):
        store = self.server.api.store
        t0 = time.time()
        record = {"ts": t0, "method": self.command, "path": self.path,
                  "client": self.client_address[0],
                  "headers": [[k, v] for k, v in self.headers.items()],
                  "user_agent": self.headers.get("User-Agent"),
                  "content_type": self.headers.get("Content-Type")}
        try:
            body = self._read_body()
        except (ValueError, OSError) as e:
            record.update(status=400, error="reading body: %s" % e)
            store.log_request(record)
            self._send(text(400, "bad request body"))
            self.close_connection = True
            return
        record["body_len"] = len(body)
        record["body"] = body[:65536].decode("utf-8", "replace")
        ctx = {}
        fault = store.take_fault(self.command, urllib.parse.urlsplit(self.path).path)
        response = None
        try:
            if fault:
                record["fault"] = fault["id"]
                if fault.get("delay_ms"):
                    time.sleep(fault["delay_ms"] / 1000.0)
            action = (fault or {}).get("action", "none")
            if action in ("none", "delay", "mutate") or (fault or {}).get("apply"):
                response = self.server.api.handle(self.command, self.path, self.headers,
                                                  body, ctx)
                if fault:
                    record["handler_status"] = response.status
            if fault:
                response = fault_response(fault, response)
        except Exception as e:  # noqa: BLE001 - a bug here must not kill the connection
            record["error"] = "internal: %s" % e
            self.server.log(traceback.format_exc())
            response = text(500, "Internal Server Error: %s" % e)
        record.update(ctx)
        if isinstance(response, str):  # connection-level fault
            record["status"] = 0
            record["fault_action"] = response
        else:
            record["status"] = response.status
            record["resp_len"] = response.body_len if isinstance(response, HugeResponse) \
                else len(response.body)
        record["duration_ms"] = int((time.time() - t0) * 1000)
        store.log_request(record)
        if response == "close":
            self.close_connection = True
            return
        if isinstance(response, str) and response.startswith("truncate:"):
            self._send_truncated(int(response.split(":")[1]))
            return
        self._send(response)

    def _send(self, response):
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        for k, v in response.headers:
            self.send_header(k, v)
        length = response.body_len if isinstance(response, HugeResponse) else len(response.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            if isinstance(response, HugeResponse):
                response.write(self.wfile)
            else:
                self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError) as e:
            self.server.log("client went away while sending: %s" % e)
            self.close_connection = True

    def _send_truncated(self, claimed):
        body = b'{"name":"truncated","labels":{"a":"b"},"installed":true}'[:max(1, claimed // 2)]
        self.send_response_only(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(claimed))
        self.end_headers()
        try:
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True


class HugeResponse(Response):
    """A large JSON body streamed in 1 MiB pieces: {"pad":"aaaa...."}."""

    def __init__(self, status, size):
        super().__init__(status, b"", "application/json")
        self.body_len = max(size, 10)

    def write(self, w):
        head, tail = b'{"pad":"', b'"}'
        w.write(head)
        left = self.body_len - len(head) - len(tail)
        block = b"a" * (1 << 20)
        while left > 0:
            n = min(left, len(block))
            w.write(block[:n])
            left -= n
        w.write(tail)


def fault_response(fault, response):
    """Turn a fault rule into the response to send (or 'close' / 'truncate:N')."""
    action = fault.get("action", "status")
    status = int(fault.get("status") or 0)
    if action == "close":
        return "close"
    if action == "truncate":
        return "truncate:%d" % int(fault.get("size") or 100)
    if action == "status":
        return text(status or 500, fault.get("body", "injected fault"))
    if action == "body":
        return Response(status or 200, fault.get("body", ""),
                        fault.get("content_type", "application/json"))
    if action == "bad-json":
        return Response(status or 200, BAD_JSON_BODY, "application/json")
    if action == "huge":
        return HugeResponse(status or 200, int(fault.get("size") or 64 << 20))
    if action == "mutate" and response is not None:
        try:
            obj = json.loads(response.body or b"{}")
        except ValueError:
            return response
        obj = es.json_merge_patch(obj, fault.get("mutate") or {})
        out = Response(status or response.status, json.dumps(obj, separators=(",", ":")))
        out.headers = [h for h in response.headers if h[0] != "Content-Type"] + [
            ("Content-Type", "application/json")]
        return out
    return response


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, api, ssl_ctx, logf):
        self.api = api
        self.ssl_ctx = ssl_ctx
        self.logf = logf
        self._log_lock = threading.Lock()
        super().__init__(address, Handler)

    def log(self, msg):
        line = "%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), msg.rstrip())
        with self._log_lock:
            self.logf.write(line)
            self.logf.flush()

    def finish_request(self, request, client_address):
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(30)
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.log("%s TLS handshake failed: %s" % (client_address[0], e))
            try:
                self.api.store.log_request({"ts": time.time(), "method": None, "path": None,
                                            "status": None, "client": client_address[0],
                                            "tls_error": str(e)})
            except Exception:  # noqa: BLE001
                pass
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        self.log("error serving %s: %s" % (client_address, traceback.format_exc()))


def parse_fault_arg(s):
    f = json.loads(s)
    if "action" not in f:
        f["action"] = "delay" if ("delay_ms" in f and "status" not in f) else "status"
    return f.pop("method", "*").upper(), f.pop("path", ".*"), int(f.pop("count", 1)), f


def main(argv=None):
    ap = argparse.ArgumentParser(description="Test Elemental API server")
    ap.add_argument("--db", required=True, help="SQLite state file (shared with the admin CLI)")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 = any free)")
    ap.add_argument("--tls-cert", help="server certificate PEM (omit both for plain HTTP)")
    ap.add_argument("--tls-key", help="server key PEM")
    ap.add_argument("--ca", help="CA certificate PEM stored as the default registration caCert")
    ap.add_argument("--external-url", help="base URL for registration URIs; may contain "
                    "{port}; default https://localhost:PORT (http:// without TLS)")
    ap.add_argument("--log", help="log file (default stderr)")
    ap.add_argument("--auth-mode", choices=["strict", "upstream"],
                    help="strict (default): also enforce sub/aud (and exp on host tokens); "
                         "upstream: check exactly what upstream checks")
    ap.add_argument("--leeway", type=float, help="seconds of leeway for exp/nbf (upstream: 0)")
    ap.add_argument("--fault", action="append", default=[],
                    help='fault rule as JSON, e.g. \'{"method":"PATCH","path":"/hosts/",'
                         '"count":2,"action":"status","status":500}\'')
    args = ap.parse_args(argv)

    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    logf = open(args.log, "a", buffering=1) if args.log else sys.stderr
    store = es.Store(args.db)
    host, _, port = args.listen.rpartition(":")
    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
    api = Api(store)
    httpd = Server((host.strip("[]") or "127.0.0.1", int(port)), api, ssl_ctx, logf)
    real_port = httpd.server_address[1]
    scheme = "https" if ssl_ctx else "http"
    external = (args.external_url or "%s://localhost:{port}" % scheme).replace(
        "{port}", str(real_port)).rstrip("/")
    store.set_setting("external_url", external)
    store.set_setting("scheme", scheme)
    if args.ca:
        with open(args.ca) as f:
            store.set_setting("ca_cert", f.read())
    if args.auth_mode:
        store.set_setting("auth_mode", args.auth_mode)
    if args.leeway is not None:
        store.set_setting("leeway", args.leeway)
    for spec in args.fault:
        store.add_fault(*parse_fault_arg(spec))

    def stop(signum, frame):
        httpd.log("signal %d: shutting down" % signum)
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    httpd.log("listening on %s:%d, external URL %s" % (httpd.server_address[0], real_port,
                                                       external))
    print("READY %s" % external, flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        httpd.log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
