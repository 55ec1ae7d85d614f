# elemental_store.py - shared state and logic of the test Elemental API server.
#
# Holds the SQLite store (shared by elemental_server.py and elemental_admin.py), the
# Kubernetes-like objects (ElementalRegistration, ElementalHost, bootstrap Secrets), the
# behaviour upstream gets from its controllers (registration defaults/URI/token, the host
# controller's finalizer, conditions, needs-reset on deletion, Ready summary), the
# Go-compatible JSON rendering of API responses, fault-injection rules and the request log.
import contextlib
import datetime
import json
import os
import re
import sqlite3
import sys
import threading
import time
import uuid

import elemental_jwt as ejwt

API_VERSION = "infrastructure.cluster.x-k8s.io/v1beta1"
API_PREFIX = "/elemental/v1"

# Labels, finalizer, phases, conditions (upstream api/v1beta1/constants.go)
LABEL_PREFIX = "elementalhost.infrastructure.cluster.x-k8s.io/"
LABEL_INSTALLED = LABEL_PREFIX + "installed"
LABEL_BOOTSTRAPPED = LABEL_PREFIX + "bootstrapped"
LABEL_NEEDS_RESET = LABEL_PREFIX + "needs-reset"
LABEL_RESET = LABEL_PREFIX + "reset"
LABEL_IN_PLACE_UPDATE = LABEL_PREFIX + "in-place-update"
FINALIZER = "elementalmachine.infrastructure.cluster.x-k8s.io"
PHASES = ["Registering", "Finalizing Registration", "Installing", "Bootstrapping", "Running",
          "Triggering Reset", "Resetting", "Reconciling OS Version"]
READY = "Ready"

DEFAULT_WORKDIR = "/var/lib/elemental/agent"
DEFAULT_PLUGIN = "/usr/lib/elemental/plugins/elemental.so"
DEFAULT_RECONCILIATION = 10_000_000_000


class ApiError(Exception):
    """An error response: status code and plain-text body, as upstream writes them."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------- small helpers

def rfc3339(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s):
    """metav1.Time parsing (time.RFC3339); returns the normalised UTC string."""
    if not isinstance(s, str) or not re.fullmatch(
            r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", s):
        raise ValueError("parsing time %r as RFC3339" % s)
    d = datetime.datetime.fromisoformat(s.upper().replace("Z", "+00:00"))
    return d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sort_json(v):
    """Recursively sort object keys (Go marshals maps and unstructured data sorted)."""
    if isinstance(v, dict):
        return {k: sort_json(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [sort_json(x) for x in v]
    return v


def go_json_dumps(obj):
    """Compact JSON the way Go's encoding/json writes it (HTML-safe escapes)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def json_merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    target = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = json_merge_patch(target.get(k), v)
    return target


_DUR_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
              "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_duration_ns(v):
    """Integer nanoseconds, or a Go duration string such as '1h30m' / '500ms'."""
    if isinstance(v, bool):
        raise ValueError("invalid duration %r" % v)
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        s = v.strip()
        if re.fullmatch(r"-?\d+", s):
            return int(s)
        m = re.fullmatch(r"(-?)((?:\d+(?:\.\d+)?(?:ns|us|µs|μs|ms|s|m|h))+)", s)
        if m:
            total = 0.0
            for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)", m.group(2)):
                total += float(num) * _DUR_UNITS[unit]
            return int(-total if m.group(1) else total)
    raise ValueError("invalid duration %r" % (v,))


_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")


def name_problem(name):
    if not name:
        return "name or generateName is required"
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        return "invalid name %r: must be a lowercase RFC 1123 subdomain" % name
    return None


def _key_problem(key):
    prefix, _, nm = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return "invalid key prefix in %r" % key
    if not nm or len(nm) > 63 or not _QUALIFIED_NAME.match(nm):
        return "invalid key %r" % key
    return None


def metadata_problem(labels, annotations):
    """What the Kubernetes API server would reject in metadata.labels/annotations."""
    for k, v in (labels or {}).items():
        p = _key_problem(k)
        if p:
            return "metadata.labels: " + p
        if len(v) > 63 or not _LABEL_VALUE.match(v):
            return "metadata.labels: invalid value %r for %r" % (v, k)
    size = 0
    for k, v in (annotations or {}).items():
        p = _key_problem(k)
        if p:
            return "metadata.annotations: " + p
        size += len(k) + len(v)
    if size > 256 * 1024:
        return "metadata.annotations: too long, must have at most 262144 bytes"
    return None


# ---------------------------------------------------------------- conditions (CAPI v1beta1)

def _lexi_less_key(c):
    return (0 if c.get("type") == READY else 1, c.get("type", ""))


def _same_state(a, b):
    return all(a.get(k, "") == b.get(k, "") for k in
               ("type", "status", "reason", "severity", "message"))


def _clean_condition(c):
    out = {"type": c.get("type", ""), "status": c.get("status", "")}
    for k in ("severity", "reason", "message"):
        if c.get(k):
            out[k] = c[k]
    out["lastTransitionTime"] = c.get("lastTransitionTime")
    return out


def set_condition(obj, cond, now=None):
    """conditions.Set: replace the same-type condition when its state changed (new
    lastTransitionTime = now), keep the old time otherwise, keep an incoming time for a
    new condition; then sort Ready first, the rest by type."""
    if cond is None:
        return
    cond = _clean_condition(cond)
    status = obj.setdefault("status", {})
    conds = status.get("conditions") or []
    for i, existing in enumerate(conds):
        if existing.get("type") == cond["type"]:
            if not _same_state(existing, cond):
                cond["lastTransitionTime"] = rfc3339(now)
                conds[i] = cond
            break
    else:
        if not cond.get("lastTransitionTime"):
            cond["lastTransitionTime"] = rfc3339(now)
        conds.append(cond)
    conds.sort(key=_lexi_less_key)
    status["conditions"] = conds


def _merge_priority(status, severity):
    if status == "False":
        return {"Error": 0, "Warning": 1, "Info": 2}.get(severity, 99)
    if status == "True":
        return 3
    if status == "Unknown":
        return 4
    return 99


def summary_condition(obj):
    """conditions.SetSummary's Ready condition (None when there is nothing to summarise)."""
    groups = []  # [(status, severity, [conditions])] in first-seen order
    for c in (obj.get("status", {}).get("conditions") or []):
        if c.get("type") == READY:
            continue
        for g in groups:
            if g[0] == c.get("status", "") and g[1] == c.get("severity", ""):
                g[2].append(c)
                break
        else:
            groups.append((c.get("status", ""), c.get("severity", ""), [c]))
    if not groups:
        return None
    groups.sort(key=lambda g: _merge_priority(g[0], g[1]))
    status, severity, members = groups[0]
    if status == "True":
        return {"type": READY, "status": "True"}
    first = sorted(members, key=_lexi_less_key)[0]
    if status == "False":
        return {"type": READY, "status": "False", "severity": severity,
                "reason": first.get("reason", ""), "message": first.get("message", "")}
    return {"type": READY, "status": "Unknown", "reason": first.get("reason", ""),
            "message": first.get("message", "")}


def set_summary(obj, now=None):
    set_condition(obj, summary_condition(obj), now)


def get_condition(obj, ctype):
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


# ---------------------------------------------------------------- host controller

def reconcile_host(host, now=None):
    """One pass of upstream's ElementalHostReconciler. Mutates host; returns True when
    the object is gone (deletionTimestamp set and no finalizer left)."""
    md = host["metadata"]
    labels = md.setdefault("labels", {})
    finalizers = md.setdefault("finalizers", [])
    deleted = False
    if not md.get("deletionTimestamp"):
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        if labels.get(LABEL_INSTALLED) == "true":
            set_condition(host, {"type": "RegistrationReady", "status": "True",
                                 "severity": "Info"}, now)
            set_condition(host, {"type": "InstallationReady", "status": "True",
                                 "severity": "Info"}, now)
        if labels.get(LABEL_BOOTSTRAPPED) == "true":
            set_condition(host, {"type": "BootstrapReady", "status": "True",
                                 "severity": "Info"}, now)
    elif FINALIZER in finalizers:
        if labels.get(LABEL_RESET) == "true":
            finalizers.remove(FINALIZER)
            set_condition(host, {"type": "ResetReady", "status": "True",
                                 "severity": "Info"}, now)
        elif labels.get(LABEL_NEEDS_RESET) != "true":
            labels[LABEL_NEEDS_RESET] = "true"
            set_condition(host, {"type": "ResetReady", "status": "False", "severity": "Info",
                                 "reason": "WaitingForReset",
                                 "message": "Waiting for remote host to reset"}, now)
    set_summary(host, now)
    if md.get("deletionTimestamp") and not finalizers:
        deleted = True
    return deleted


def new_host(namespace, name, labels, annotations, pub_key, registration):
    md = {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
          "creationTimestamp": rfc3339(), "generation": 1,
          "labels": dict(labels or {}), "annotations": dict(annotations or {}),
          "finalizers": [],
          "ownerReferences": [{"apiVersion": API_VERSION, "kind": "ElementalRegistration",
                               "name": registration["metadata"]["name"],
                               "uid": registration["metadata"]["uid"], "controller": True}]}
    return {"apiVersion": API_VERSION, "kind": "ElementalHost", "metadata": md,
            "spec": {"pubKey": pub_key} if pub_key else {}, "status": {}}


def host_view(host):
    """The host as `kubectl get -o yaml` shows it (empty fields dropped)."""
    out = json.loads(json.dumps(host))
    md = out["metadata"]
    for k in ("labels", "annotations", "finalizers", "ownerReferences"):
        if not md.get(k):
            md.pop(k, None)
    st = out.get("status") or {}
    if not st.get("conditions"):
        st.pop("conditions", None)
    if not st.get("phase"):
        st.pop("phase", None)
    if not st:
        out.pop("status", None)
    return out


# ---------------------------------------------------------------- API responses

def host_response(host):
    """api.HostResponse.fromElementalHost + json.Marshal (omitempty everywhere)."""
    md, spec = host["metadata"], host.get("spec") or {}
    labels = md.get("labels") or {}
    out = {"name": md["name"]}
    if md.get("annotations"):
        out["annotations"] = sort_json(md["annotations"])
    if labels:
        out["labels"] = sort_json(labels)
    if spec.get("bootstrapSecret"):
        out["bootstrapReady"] = True
    if not labels:  # upstream returns early when the host has no labels at all
        return out
    if labels.get(LABEL_BOOTSTRAPPED) == "true":
        out["bootstrapped"] = True
    if labels.get(LABEL_INSTALLED) == "true":
        out["installed"] = True
    if labels.get(LABEL_NEEDS_RESET) == "true":
        out["needsReset"] = True
    if labels.get(LABEL_IN_PLACE_UPDATE):
        out["inPlaceUpgrade"] = labels[LABEL_IN_PLACE_UPDATE]
    if spec.get("osVersionManagement"):
        out["osVersionManagement"] = sort_json(spec["osVersionManagement"])
    return out


def _put(d, key, value):
    if value not in (None, "", 0, False, {}, []):
        d[key] = value


def _post_action(p):
    out = {}
    _put(out, "powerOff", bool((p or {}).get("powerOff")))
    _put(out, "reboot", bool((p or {}).get("reboot")))
    return out


def agent_struct(agent):
    """infrastructurev1.Agent marshalled by Go (field order, omitempty, struct fields kept)."""
    a = agent or {}
    out = {}
    _put(out, "workDir", a.get("workDir"))
    hn = {}
    _put(hn, "useExisting", bool((a.get("hostname") or {}).get("useExisting")))
    _put(hn, "prefix", (a.get("hostname") or {}).get("prefix"))
    out["hostname"] = hn
    for k in ("noSmbios", "debug"):
        _put(out, k, bool(a.get(k)))
    _put(out, "osPlugin", a.get("osPlugin"))
    _put(out, "reconciliation", a.get("reconciliation"))
    for k in ("insecureAllowHttp", "insecureSkipTlsVerify", "useSystemCertPool"):
        _put(out, k, bool(a.get(k)))
    out["postInstall"] = _post_action(a.get("postInstall"))
    out["postReset"] = _post_action(a.get("postReset"))
    return out


def registration_response(reg):
    """api.RegistrationResponse built from the stored ElementalRegistration spec."""
    spec = reg["spec"]
    cfg = spec.get("config") or {}
    el = cfg.get("elemental") or {}
    r = el.get("registration") or {}
    out = {}
    _put(out, "hostLabels", sort_json(spec.get("hostLabels") or {}))
    _put(out, "hostAnnotations", sort_json(spec.get("hostAnnotations") or {}))
    elemental = {}
    _put(elemental, "install", sort_json(el.get("install") or {}))
    _put(elemental, "reset", sort_json(el.get("reset") or {}))
    regout = {}
    for k in ("uri", "caCert", "tokenDuration", "token"):
        _put(regout, k, r.get(k))
    elemental["registration"] = regout
    elemental["agent"] = agent_struct(el.get("agent"))
    config = {"elemental": elemental}
    _put(config, "cloudConfig", sort_json(cfg.get("cloudConfig") or {}))
    out["config"] = config
    return out


# ---------------------------------------------------------------- registration spec

_AGENT_FIELDS = {"workDir": str, "hostname": dict, "noSmbios": bool, "debug": bool,
                 "osPlugin": str, "reconciliation": int, "insecureAllowHttp": bool,
                 "insecureSkipTlsVerify": bool, "useSystemCertPool": bool,
                 "postInstall": dict, "postReset": dict}


def _expect(v, typ, where):
    if typ is int:
        try:
            return parse_duration_ns(v)
        except ValueError:
            raise ValueError("%s: expected integer nanoseconds or a Go duration, got %r"
                             % (where, v))
    if typ is bool and not isinstance(v, bool):
        raise ValueError("%s: expected a boolean, got %r" % (where, v))
    if typ is str and not isinstance(v, str):
        raise ValueError("%s: expected a string, got %r" % (where, v))
    if typ is dict and not isinstance(v, dict):
        raise ValueError("%s: expected an object, got %r" % (where, v))
    return v


def _string_map(v, where):
    if v is None:
        return {}
    if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
        raise ValueError("%s: expected a map of strings" % where)
    return dict(v)


def normalize_registration_spec(spec, warn=None):
    """Schema check, pruning and defaulting the way the API server treats an
    ElementalRegistration (CRD defaults: agent {debug, reconciliation, hostname, osPlugin},
    workDir, hostname.useExisting). Raises ValueError for wrong types."""
    warn = warn or (lambda m: None)
    spec = dict(spec or {})
    out = {"hostLabels": _string_map(spec.pop("hostLabels", None), "spec.hostLabels"),
           "hostAnnotations": _string_map(spec.pop("hostAnnotations", None),
                                          "spec.hostAnnotations")}
    cfg = _expect(spec.pop("config", None) or {}, dict, "spec.config")
    spec.pop("privateKeyRef", None)
    for k in spec:
        warn("pruned unknown field spec.%s" % k)
    cfg = dict(cfg)
    cloud = _expect(cfg.pop("cloudConfig", None) or {}, dict, "spec.config.cloudConfig")
    el = dict(_expect(cfg.pop("elemental", None) or {}, dict, "spec.config.elemental"))
    for k in cfg:
        warn("pruned unknown field spec.config.%s" % k)
    install = _expect(el.pop("install", None) or {}, dict, "spec.config.elemental.install")
    reset = _expect(el.pop("reset", None) or {}, dict, "spec.config.elemental.reset")
    reg_in = dict(_expect(el.pop("registration", None) or {}, dict,
                          "spec.config.elemental.registration"))
    reg = {}
    for k, typ in (("uri", str), ("caCert", str), ("tokenDuration", int), ("token", str)):
        if reg_in.get(k) is not None:
            reg[k] = _expect(reg_in.pop(k), typ, "spec.config.elemental.registration." + k)
        reg_in.pop(k, None)
    for k in reg_in:
        warn("pruned unknown field spec.config.elemental.registration.%s" % k)
    if "agent" not in el or el["agent"] is None:
        el.pop("agent", None)
        agent_in = {"debug": False, "reconciliation": DEFAULT_RECONCILIATION,
                    "hostname": {"useExisting": False}, "osPlugin": DEFAULT_PLUGIN}
    else:
        agent_in = dict(_expect(el.pop("agent"), dict, "spec.config.elemental.agent"))
    for k in el:
        warn("pruned unknown field spec.config.elemental.%s" % k)
    agent = {}
    for k, v in agent_in.items():
        if k not in _AGENT_FIELDS:
            warn("pruned unknown field spec.config.elemental.agent.%s" % k)
        elif v is not None:
            agent[k] = _expect(v, _AGENT_FIELDS[k], "spec.config.elemental.agent." + k)
    agent.setdefault("workDir", DEFAULT_WORKDIR)
    agent.setdefault("osPlugin", DEFAULT_PLUGIN)
    agent.setdefault("reconciliation", DEFAULT_RECONCILIATION)
    hn = dict(agent["hostname"]) if "hostname" in agent else {"useExisting": True}
    hn.setdefault("useExisting", False)
    for k, typ in (("useExisting", bool), ("prefix", str)):
        if k in hn:
            hn[k] = _expect(hn[k], typ, "spec.config.elemental.agent.hostname." + k)
    agent["hostname"] = hn
    for pa in ("postInstall", "postReset"):
        if pa in agent:
            agent[pa] = {k: _expect(v, bool, "spec.config.elemental.agent.%s.%s" % (pa, k))
                         for k, v in agent[pa].items() if k in ("powerOff", "reboot")}
    elemental = {"registration": reg, "agent": agent}
    if install:
        elemental["install"] = install
    if reset:
        elemental["reset"] = reset
    out["config"] = {"elemental": elemental}
    if cloud:
        out["config"]["cloudConfig"] = cloud
    return out


# ---------------------------------------------------------------- the store

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registrations(namespace TEXT NOT NULL, name TEXT NOT NULL,
    obj TEXT NOT NULL, priv_key TEXT NOT NULL, PRIMARY KEY(namespace, name));
CREATE TABLE IF NOT EXISTS hosts(namespace TEXT NOT NULL, name TEXT NOT NULL,
    obj TEXT NOT NULL, PRIMARY KEY(namespace, name));
CREATE TABLE IF NOT EXISTS secrets(namespace TEXT NOT NULL, name TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY(namespace, name));
CREATE TABLE IF NOT EXISTS faults(id INTEGER PRIMARY KEY AUTOINCREMENT,
    method TEXT NOT NULL, path TEXT NOT NULL, remaining INTEGER NOT NULL,
    spec TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS requests(id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,
    method TEXT, path TEXT, status INTEGER, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL,
    namespace TEXT, host TEXT, source TEXT, change TEXT NOT NULL);
"""


class Store:
    """SQLite state shared between the server and the admin CLI (one connection per
    thread, WAL, short IMMEDIATE transactions for every read-modify-write)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self._local = threading.local()
        self.conn().executescript(SCHEMA)

    def conn(self):
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                check_same_thread=False)
            c.execute("PRAGMA busy_timeout=30000")
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = c
        return c

    @contextlib.contextmanager
    def tx(self):
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        else:
            c.execute("COMMIT")

    # settings
    def get_setting(self, key, default=None):
        row = self.conn().execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key, value):
        with self.tx() as c:
            if value is None:
                c.execute("DELETE FROM settings WHERE key=?", (key,))
            else:
                c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES(?, ?)",
                          (key, str(value)))

    def settings(self):
        return dict(self.conn().execute("SELECT key, value FROM settings").fetchall())

    # registrations
    def get_registration(self, ns, name, c=None):
        row = (c or self.conn()).execute(
            "SELECT obj, priv_key FROM registrations WHERE namespace=? AND name=?",
            (ns, name)).fetchone()
        if not row:
            return None, None
        return json.loads(row[0]), row[1]

    def list_registrations(self):
        return [json.loads(r[0]) for r in self.conn().execute(
            "SELECT obj FROM registrations ORDER BY namespace, name")]

    def put_registration(self, c, reg, priv_key_pem):
        c.execute("INSERT OR REPLACE INTO registrations(namespace, name, obj, priv_key) "
                  "VALUES(?, ?, ?, ?)", (reg["metadata"]["namespace"],
                                         reg["metadata"]["name"], json.dumps(reg),
                                         priv_key_pem))

    def create_registration(self, ns, name, spec, external_url, ca_cert=None, warn=None):
        """Create like `kubectl apply` + the registration controller: default the spec,
        set the URI (if unset), the default CA (if unset), a signing key and a token."""
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        spec = normalize_registration_spec(spec, warn)
        reg = spec["config"]["elemental"]["registration"]
        if not reg.get("uri"):
            if not external_url:
                raise ValueError("no external URL known: start the server first or pass "
                                 "--external-url")
            reg["uri"] = "%s%s/namespaces/%s/registrations/%s" % (
                external_url.rstrip("/"), API_PREFIX, ns, name)
        if not reg.get("caCert") and ca_cert:
            reg["caCert"] = ca_cert
        key = ejwt.new_private_key()
        pem = ejwt.private_key_pem(key)
        spec["privateKeyRef"] = {"name": name, "namespace": ns}
        if not reg.get("token"):
            reg["token"] = ejwt.sign(key, ejwt.registration_claims(
                reg["uri"], reg.get("tokenDuration", 0)))
        obj = {"apiVersion": API_VERSION, "kind": "ElementalRegistration",
               "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                            "creationTimestamp": rfc3339(), "generation": 1},
               "spec": spec,
               "status": {"conditions": [{"type": READY, "status": "True",
                                          "lastTransitionTime": rfc3339()}]}}
        with self.tx() as c:
            if self.get_registration(ns, name, c)[0] is not None:
                raise ValueError("elementalregistration %s/%s already exists" % (ns, name))
            self.put_registration(c, obj, pem)
        return obj

    def delete_registration(self, ns, name):
        """Delete a registration; owned hosts are garbage-collected like Kubernetes does
        (they get a deletionTimestamp and, through their finalizer, needs-reset)."""
        with self.tx() as c:
            reg, _ = self.get_registration(ns, name, c)
            if reg is None:
                return False
            c.execute("DELETE FROM registrations WHERE namespace=? AND name=?", (ns, name))
            for host in self.list_hosts(ns, c):
                if any(o.get("uid") == reg["metadata"]["uid"]
                       for o in host["metadata"].get("ownerReferences", [])):
                    self.mark_deleted(c, host, "gc")
        return True

    # hosts
    def get_host(self, ns, name, c=None):
        row = (c or self.conn()).execute(
            "SELECT obj FROM hosts WHERE namespace=? AND name=?", (ns, name)).fetchone()
        return json.loads(row[0]) if row else None

    def list_hosts(self, ns=None, c=None):
        c = c or self.conn()
        if ns is None:
            rows = c.execute("SELECT obj FROM hosts ORDER BY namespace, name")
        else:
            rows = c.execute("SELECT obj FROM hosts WHERE namespace=? ORDER BY name", (ns,))
        return [json.loads(r[0]) for r in rows]

    def write_host(self, c, host):
        """Store a host (bumping resourceVersion) or drop it once it is gone."""
        md = host["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            c.execute("DELETE FROM hosts WHERE namespace=? AND name=?",
                      (md["namespace"], md["name"]))
            self.add_event(c, host, "apiserver", {"deleted": True})
            return None
        md["resourceVersion"] = str(int(md.get("resourceVersion", "0")) + 1)
        c.execute("INSERT OR REPLACE INTO hosts(namespace, name, obj) VALUES(?, ?, ?)",
                  (md["namespace"], md["name"], json.dumps(host)))
        return host

    def reconcile_and_write(self, c, host, source="controller"):
        """Run the host controller on host, log what it changed, and store it."""
        before = json.loads(json.dumps(host))
        reconcile_host(host)
        change = diff_host(before, host)
        if change:
            self.add_event(c, host, source, change)
        return self.write_host(c, host)

    def mark_deleted(self, c, host, source):
        if not host["metadata"].get("deletionTimestamp"):
            host["metadata"]["deletionTimestamp"] = rfc3339()
            self.add_event(c, host, source, {"deletionTimestamp":
                                             host["metadata"]["deletionTimestamp"]})
        return self.reconcile_and_write(c, host)

    # secrets
    def get_secret(self, ns, name, c=None):
        row = (c or self.conn()).execute(
            "SELECT data FROM secrets WHERE namespace=? AND name=?", (ns, name)).fetchone()
        return json.loads(row[0]) if row else None

    def put_secret(self, c, ns, name, data):
        c.execute("INSERT OR REPLACE INTO secrets(namespace, name, data) VALUES(?, ?, ?)",
                  (ns, name, json.dumps(data)))

    # events (host history)
    def add_event(self, c, host, source, change):
        c.execute("INSERT INTO events(ts, namespace, host, source, change) "
                  "VALUES(?, ?, ?, ?, ?)", (time.time(), host["metadata"]["namespace"],
                                           host["metadata"]["name"], source,
                                           json.dumps(change, sort_keys=True)))

    def events(self, ns=None, host=None, since=0):
        q, args = "SELECT id, ts, namespace, host, source, change FROM events WHERE id>?", [since]
        if ns is not None:
            q += " AND namespace=?"
            args.append(ns)
        if host is not None:
            q += " AND host=?"
            args.append(host)
        return [{"id": r[0], "ts": r[1], "namespace": r[2], "host": r[3], "source": r[4],
                 "change": json.loads(r[5])}
                for r in self.conn().execute(q + " ORDER BY id", args)]

    # faults
    def add_fault(self, method, path, count, spec):
        with self.tx() as c:
            cur = c.execute("INSERT INTO faults(method, path, remaining, spec) "
                            "VALUES(?, ?, ?, ?)", (method.upper(), path, count,
                                                   json.dumps(spec)))
            return cur.lastrowid

    def take_fault(self, method, path):
        """Atomically consume the first matching fault (count -1 = unlimited)."""
        with self.tx() as c:
            for fid, fm, fp, remaining, spec in c.execute(
                    "SELECT id, method, path, remaining, spec FROM faults "
                    "WHERE remaining != 0 ORDER BY id").fetchall():
                if fm not in ("*", method):
                    continue
                try:
                    if not re.search(fp, path):
                        continue
                except re.error:
                    continue
                c.execute("UPDATE faults SET hits=hits+1, remaining=CASE WHEN remaining>0 "
                          "THEN remaining-1 ELSE remaining END WHERE id=?", (fid,))
                f = json.loads(spec)
                f["id"] = fid
                return f
        return None

    def list_faults(self):
        return [{"id": r[0], "method": r[1], "path": r[2], "remaining": r[3],
                 "hits": r[5], **json.loads(r[4])}
                for r in self.conn().execute(
                    "SELECT id, method, path, remaining, spec, hits FROM faults ORDER BY id")]

    def clear_faults(self, fid=None):
        with self.tx() as c:
            if fid is None:
                c.execute("DELETE FROM faults")
            else:
                c.execute("DELETE FROM faults WHERE id=?", (fid,))

    # request log
    def log_request(self, record):
        with self.tx() as c:
            cur = c.execute("INSERT INTO requests(ts, method, path, status, record) "
                            "VALUES(?, ?, ?, ?, ?)",
                            (record.get("ts", time.time()), record.get("method"),
                             record.get("path"), record.get("status"), json.dumps(record)))
            return cur.lastrowid

    def requests(self, since=0):
        out = []
        for rid, rec in self.conn().execute(
                "SELECT id, record FROM requests WHERE id>? ORDER BY id", (since,)):
            r = json.loads(rec)
            r["id"] = rid
            out.append(r)
        return out


def diff_host(before, after):
    """What changed between two versions of a host, for the event log."""
    change = {}
    if (before.get("status") or {}).get("phase") != (after.get("status") or {}).get("phase"):
        change["phase"] = (after.get("status") or {}).get("phase")
    bl = before["metadata"].get("labels") or {}
    al = after["metadata"].get("labels") or {}
    labels = {k: v for k, v in al.items() if bl.get(k) != v}
    labels.update({k: None for k in bl if k not in al})
    if labels:
        change["labels"] = labels
    bc = {c["type"]: c for c in (before.get("status") or {}).get("conditions") or []}
    conds = [c for c in (after.get("status") or {}).get("conditions") or []
             if bc.get(c["type"]) != c]
    if conds:
        change["conditions"] = conds
    if before.get("spec") != after.get("spec"):
        change["spec"] = after.get("spec")
    if before["metadata"].get("finalizers") != after["metadata"].get("finalizers"):
        change["finalizers"] = after["metadata"].get("finalizers")
    return change


# ---------------------------------------------------------------- YAML output

def _yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _yaml_lines(v, indent):
    pad = " " * indent
    if isinstance(v, dict):
        if not v:
            return [pad + "{}"]
        lines = []
        for k, x in v.items():
            key = _yaml_scalar(str(k)) if not re.fullmatch(r"[A-Za-z0-9_./-]+", str(k)) \
                else str(k)
            lines.extend(_yaml_item(pad + key + ":", x, indent))
        return lines
    if isinstance(v, list):
        if not v:
            return [pad + "[]"]
        lines = []
        for x in v:
            sub = _yaml_lines(x, indent + 2)
            lines.append(pad + "- " + sub[0].lstrip())
            lines.extend(sub[1:])
        return lines
    return [pad + _yaml_scalar(v)]


def _yaml_item(prefix, x, indent):
    if isinstance(x, str) and "\n" in x:
        body = x[:-1] if x.endswith("\n") else x
        lines = [prefix + (" |" if x.endswith("\n") else " |-")]
        lines.extend((" " * (indent + 2) + ln) if ln else "" for ln in body.split("\n"))
        return lines
    if isinstance(x, (dict, list)) and x:
        return [prefix] + _yaml_lines(x, indent + 2)
    return [prefix + " " + _yaml_lines(x, 0)[0]]


def to_yaml(obj):
    """YAML text; uses python3-yaml when installed (block scalars for multi-line
    strings), else a small built-in emitter."""
    try:
        import yaml
    except ImportError:
        return "\n".join(_yaml_lines(obj, 0)) + "\n"

    class Dumper(yaml.SafeDumper):
        pass

    def str_rep(dumper, data):
        if "\n" in data:
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", data)

    Dumper.add_representer(str, str_rep)
    return yaml.dump(obj, Dumper=Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=4096)


def load_yaml_or_json(text):
    text = text.strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml
    except ImportError:
        raise ValueError("input is not JSON and python3-yaml is not installed "
                         "(apt-get install python3-yaml)")
    return yaml.safe_load(text)


def warn_stderr(msg):
    print("warning: " + msg, file=sys.stderr)
