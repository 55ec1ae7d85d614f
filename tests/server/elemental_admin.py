#!/usr/bin/python3
# elemental_admin.py - the kubectl stand-in for the test Elemental API server.
#
# Works directly on the server's SQLite file (--db), so it can run while the server does.
# It does what the seed documents do with kubectl: create ElementalRegistrations and print
# the agent config, show ElementalHosts (phase, conditions, labels), patch
# spec.osVersionManagement, label hosts (in-place-update=pending), attach a bootstrap
# secret, delete hosts (needs-reset + finalizer until the agent reports reset), wait for
# conditions. It also manages fault-injection rules and dumps the request log.
#
#   elemental_admin.py --db state.db registration create demo --spec reg.yaml \
#       --agent-config /tmp/config.yaml
#   elemental_admin.py --db state.db host list
#   elemental_admin.py --db state.db host wait HOST --for condition=Ready --timeout 120
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elemental_jwt as ejwt  # noqa: E402
import elemental_store as es  # noqa: E402


class CliError(Exception):
    pass


def out(text_):
    sys.stdout.write(text_ if text_.endswith("\n") else text_ + "\n")


def dump(obj, fmt):
    if fmt == "json":
        out(json.dumps(obj, indent=2, sort_keys=True))
    else:
        out(es.to_yaml(es.sort_json(obj)))


def read_input(path):
    if path == "-":
        return sys.stdin.read()
    with open(path) as f:
        return f.read()


# ---------------------------------------------------------------- field paths

def split_path(path):
    """'status.conditions[type=Ready].status' -> ['status', 'conditions', '[type=Ready]',
    'status']; also accepts kubectl's '{.status.phase}'."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    path = path.lstrip(".")
    tokens, cur, i = [], "", 0
    while i < len(path):
        ch = path[i]
        if ch == ".":
            if cur:
                tokens.append(cur)
            cur = ""
        elif ch == "[":
            if cur:
                tokens.append(cur)
            end = path.index("]", i)
            tokens.append(path[i:end + 1])
            cur, i = "", end
        else:
            cur += ch
        i += 1
    if cur:
        tokens.append(cur)
    return tokens


_MISSING = object()


def get_field(obj, path):
    cur = obj
    for tok in split_path(path):
        if tok.startswith("["):
            inner = tok[1:-1].strip("'\"")
            if isinstance(cur, list):
                if "=" in inner:
                    k, v = inner.split("=", 1)
                    k = k.lstrip("?(@.").strip()
                    v = v.strip("=)'\" ")
                    cur = next((x for x in cur if isinstance(x, dict) and
                                str(x.get(k)) == v), _MISSING)
                else:
                    try:
                        cur = cur[int(inner)]
                    except (ValueError, IndexError):
                        return _MISSING
            elif isinstance(cur, dict):
                cur = cur.get(inner, _MISSING)
            else:
                return _MISSING
        elif isinstance(cur, dict):
            cur = cur.get(tok, _MISSING)
        else:
            return _MISSING
        if cur is _MISSING:
            return _MISSING
    return cur


def field_text(v):
    if v is _MISSING or v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True)


# ---------------------------------------------------------------- registrations

def agent_config(reg):
    """What a user puts in /etc/elemental/agent/config.yaml (upstream's
    test/scripts/print_agent_config.sh: .spec.config.elemental.{agent,registration})."""
    el = reg["spec"]["config"]["elemental"]
    r = el["registration"]
    registration = {"uri": r.get("uri", "")}
    if r.get("caCert"):
        registration["caCert"] = r["caCert"]
    if r.get("token"):
        registration["token"] = r["token"]
    if r.get("tokenDuration"):
        registration["tokenDuration"] = r["tokenDuration"]
    agent = el.get("agent", {})
    order = ["workDir", "hostname", "noSmbios", "debug", "osPlugin", "reconciliation",
             "insecureAllowHttp", "insecureSkipTlsVerify", "useSystemCertPool",
             "postInstall", "postReset"]
    agent = {k: agent[k] for k in sorted(agent, key=lambda k: order.index(k)
                                         if k in order else len(order))}
    return {"registration": registration, "agent": agent}


def cmd_registration(store, a):
    ns = a.namespace
    if a.action == "create":
        spec = {}
        if a.spec:
            spec = es.load_yaml_or_json(read_input(a.spec)) or {}
            if isinstance(spec, dict) and "spec" in spec and ("kind" in spec or
                                                              "metadata" in spec):
                md = spec.get("metadata") or {}
                ns = md.get("namespace") or ns
                spec = spec.get("spec") or {}
        if not isinstance(spec, dict):
            raise CliError("the spec must be an object")
        ca = None
        if a.ca:
            ca = read_input(a.ca)
        else:
            ca = store.get_setting("ca_cert")
        external = a.external_url or store.get_setting("external_url")
        try:
            reg = store.create_registration(ns, a.name, spec, external, ca, es.warn_stderr)
        except ValueError as e:
            raise CliError(str(e))
        write_agent_config(reg, a.agent_config)
    elif a.action == "agent-config":
        write_agent_config(get_reg(store, ns, a.name), a.out)
    elif a.action == "show":
        reg = get_reg(store, ns, a.name)
        if a.field:
            out(field_text(get_field(reg, a.field)))
        else:
            dump(reg, a.output)
    elif a.action == "list":
        rows = [("NAMESPACE", "NAME", "URI")]
        for reg in store.list_registrations():
            rows.append((reg["metadata"]["namespace"], reg["metadata"]["name"],
                         reg["spec"]["config"]["elemental"]["registration"].get("uri", "")))
        table(rows)
    elif a.action == "token":
        reg, priv = store.get_registration(ns, a.name)
        if reg is None:
            raise CliError("elementalregistration %s/%s not found" % (ns, a.name))
        uri = reg["spec"]["config"]["elemental"]["registration"]["uri"]
        duration = a.duration if a.duration is not None else \
            reg["spec"]["config"]["elemental"]["registration"].get("tokenDuration", 0)
        duration = es.parse_duration_ns(duration)
        now = int(time.time())
        if a.expired:
            now -= 7200
            duration = duration or 3600 * 10**9
            duration = min(duration, 3600 * 10**9)
        claims = ejwt.registration_claims(uri, duration, now)
        if a.not_yet_valid:
            claims["nbf"] = now + 3600
        if a.sub is not None:
            claims["sub"] = a.sub
        if a.aud is not None:
            claims["aud"] = [a.aud]
        key = ejwt.new_private_key() if a.wrong_key else ejwt.load_private_key_pem(priv)
        token = ejwt.sign(key, claims)
        if a.store:
            with store.tx() as c:
                reg, priv = store.get_registration(ns, a.name, c)
                reg["spec"]["config"]["elemental"]["registration"]["token"] = token
                store.put_registration(c, reg, priv)
        out(token)
    elif a.action == "rotate-key":
        with store.tx() as c:
            reg, _ = store.get_registration(ns, a.name, c)
            if reg is None:
                raise CliError("elementalregistration %s/%s not found" % (ns, a.name))
            key = ejwt.new_private_key()
            r = reg["spec"]["config"]["elemental"]["registration"]
            r["token"] = ejwt.sign(key, ejwt.registration_claims(r["uri"],
                                                                 r.get("tokenDuration", 0)))
            store.put_registration(c, reg, ejwt.private_key_pem(key))
        out(r["token"])
    elif a.action == "delete":
        if not store.delete_registration(ns, a.name):
            raise CliError("elementalregistration %s/%s not found" % (ns, a.name))
        out('elementalregistration "%s" deleted' % a.name)


def write_agent_config(reg, path):
    text_ = es.to_yaml(agent_config(reg))
    if path:
        with open(path, "w") as f:
            f.write(text_)
        out(reg["spec"]["config"]["elemental"]["registration"]["uri"])
    else:
        out(text_)


def get_reg(store, ns, name):
    reg, _ = store.get_registration(ns, name)
    if reg is None:
        raise CliError("elementalregistration %s/%s not found" % (ns, name))
    return reg


# ---------------------------------------------------------------- hosts

def table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out("   ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())


def ready_status(host):
    c = es.get_condition(host, es.READY)
    return c["status"] if c else ""


def mutate_host(store, ns, name, fn, source="admin"):
    """Read-modify-write a host in one transaction, then run the host controller."""
    with store.tx() as c:
        host = store.get_host(ns, name, c)
        if host is None:
            raise CliError('elementalhosts "%s" not found' % name)
        before = json.loads(json.dumps(host))
        fn(host, c)
        change = es.diff_host(before, host)
        if change:
            store.add_event(c, host, source, change)
        if store.write_host(c, host) is not None:
            return store.reconcile_and_write(c, host)
        return None


def parse_kv(items):
    sets, removes = {}, []
    for item in items:
        if item.endswith("-") and "=" not in item:
            removes.append(item[:-1])
        elif "=" in item:
            k, v = item.split("=", 1)
            sets[k] = v
        else:
            raise CliError("expected key=value or key-, got %r" % item)
    return sets, removes


def cmd_host(store, a):
    ns = a.namespace
    if a.action == "list":
        hosts = store.list_hosts(None if a.all_namespaces else ns)
        if a.output == "json":
            out(json.dumps([es.host_view(h) for h in hosts], indent=2, sort_keys=True))
            return
        rows = [("NAME", "PHASE", "READY", "INSTALLED", "BOOTSTRAPPED", "NEEDS-RESET",
                 "DELETING", "LABELS")]
        shown = (es.LABEL_INSTALLED, es.LABEL_BOOTSTRAPPED, es.LABEL_NEEDS_RESET)
        for h in hosts:
            labels = h["metadata"].get("labels") or {}
            rows.append((h["metadata"]["name"], h.get("status", {}).get("phase", "") or "-",
                         ready_status(h) or "-", labels.get(es.LABEL_INSTALLED, "-"),
                         labels.get(es.LABEL_BOOTSTRAPPED, "-"),
                         labels.get(es.LABEL_NEEDS_RESET, "-"),
                         "yes" if h["metadata"].get("deletionTimestamp") else "-",
                         ",".join("%s=%s" % (k.replace(es.LABEL_PREFIX, "eh/"), v)
                                  for k, v in sorted(labels.items()) if k not in shown)
                         or "-"))
        table(rows)
        return
    if a.action == "history":
        for ev in store.events(ns, a.name, a.since):
            out(json.dumps(ev, sort_keys=True))
        return
    if a.action == "wait":
        return wait_host(store, ns, a.name, a.for_, a.timeout)

    host = store.get_host(ns, a.name)
    if host is None and not (a.action == "delete" and a.ignore_not_found):
        raise CliError('elementalhosts "%s" not found' % a.name)

    if a.action == "show":
        dump(es.host_view(host), a.output)
    elif a.action == "get":
        out(field_text(get_field(es.host_view(host), a.field)))
    elif a.action == "response":
        out(es.go_json_dumps(es.host_response(host)))
    elif a.action in ("label", "annotate"):
        sets, removes = parse_kv(a.pairs)
        key = "labels" if a.action == "label" else "annotations"
        if a.action == "label":
            problem = es.metadata_problem(sets, {})
            if problem:
                raise CliError(problem)

        def fn(h, c):
            m = h["metadata"].setdefault(key, {})
            m.update(sets)
            for k in removes:
                m.pop(k, None)
        mutate_host(store, ns, a.name, fn)
        out("elementalhost.%s/%s %s" % (es.API_VERSION.split("/")[0], a.name,
                                         "labeled" if key == "labels" else "annotated"))
    elif a.action == "patch":
        try:
            patch = json.loads(a.patch)
        except ValueError as e:
            raise CliError("--patch is not JSON: %s" % e)

        def fn(h, c):
            for part in ("metadata", "spec", "status"):
                if part in patch:
                    if part == "metadata":
                        for k in ("labels", "annotations"):
                            if k in patch["metadata"]:
                                h["metadata"][k] = es.json_merge_patch(
                                    h["metadata"].get(k) or {}, patch["metadata"][k])
                    else:
                        h[part] = es.json_merge_patch(h.get(part) or {}, patch[part])
        mutate_host(store, ns, a.name, fn)
        out("elementalhost/%s patched" % a.name)
    elif a.action == "patch-os-version":
        try:
            value = json.loads(a.json)
        except ValueError as e:
            raise CliError("--json is not JSON: %s" % e)
        if not isinstance(value, dict):
            raise CliError("--json must be an object, e.g. '{\"osVersion\":{...}}'")
        if "osVersionManagement" in value and len(value) == 1:
            value = value["osVersionManagement"]

        def fn(h, c):
            spec = h.setdefault("spec", {})
            old = spec.get("osVersionManagement") or {}
            new = value if a.replace else es.json_merge_patch(old, value)
            if new:
                spec["osVersionManagement"] = new
            else:
                spec.pop("osVersionManagement", None)
            if a.via_machine and new != old:
                # the ElementalHost controller propagating an ElementalMachine change
                labels = h["metadata"].get("labels") or {}
                bootstrapped = labels.get(es.LABEL_BOOTSTRAPPED) == "true"
                pending = labels.get(es.LABEL_IN_PLACE_UPDATE) == "pending"
                if bootstrapped and not pending:
                    cond = {"type": "OSVersionReady", "status": "False",
                            "severity": "Warning", "reason": "InPlaceUpdateNotPending",
                            "message": "ElementalMachine %s OSVersionManagement mutated, but "
                                       "no in-place-upgrade is pending. Mutation will be "
                                       "ignored." % a.machine}
                else:
                    cond = {"type": "OSVersionReady", "status": "False", "severity": "Info",
                            "reason": "WaitingForOSReconcile",
                            "message": "ElementalMachine %s OSVersionManagement mutated"
                                       % a.machine}
                es.set_condition(h, cond)
        mutate_host(store, ns, a.name, fn)
        out("elementalhost/%s patched" % a.name)
    elif a.action == "set-bootstrap":
        if a.config is None and a.value is None and not a.no_value and not a.dangling:
            raise CliError("give --config FILE or --value TEXT")
        secret_name = a.secret_name or "%s-bootstrap" % a.name
        data = {}
        if a.format is not None:
            data["format"] = a.format
        if not a.no_value:
            data["value"] = read_input(a.config) if a.config is not None else (a.value or "")

        def fn(h, c):
            if not a.dangling:
                store.put_secret(c, ns, secret_name, data)
            h.setdefault("spec", {})["bootstrapSecret"] = {"kind": "Secret", "namespace": ns,
                                                          "name": secret_name}
            if a.machine:
                h["spec"]["machineRef"] = {"apiVersion": es.API_VERSION,
                                           "kind": "ElementalMachine", "namespace": ns,
                                           "name": a.machine}
                labels = h["metadata"].setdefault("labels", {})
                labels[es.LABEL_PREFIX + "machine-name"] = a.machine
                labels[es.LABEL_PREFIX + "elemental-machine-name"] = a.machine
        mutate_host(store, ns, a.name, fn)
        out("elementalhost/%s bootstrap secret %s/%s set" % (a.name, ns, secret_name))
    elif a.action == "delete":
        if host is None:
            return
        with store.tx() as c:
            h = store.get_host(ns, a.name, c)
            if h is not None:
                if a.force:
                    h["metadata"]["finalizers"] = []
                    h["metadata"].setdefault("deletionTimestamp", es.rfc3339())
                    store.add_event(c, h, "admin", {"forced": True})
                    store.write_host(c, h)
                else:
                    store.mark_deleted(c, h, "admin")
        out('elementalhost.%s "%s" deleted' % (es.API_VERSION.split("/")[0], a.name))
        if a.wait:
            return wait_host(store, ns, a.name, "delete", a.timeout)


def describe(host):
    if host is None:
        return "host does not exist"
    labels = host["metadata"].get("labels") or {}
    conds = ", ".join("%s=%s%s" % (c["type"], c["status"],
                                   "(%s)" % c["reason"] if c.get("reason") else "")
                      for c in host.get("status", {}).get("conditions") or [])
    return "phase=%r conditions=[%s] labels=%s deleting=%s" % (
        host.get("status", {}).get("phase", ""), conds, json.dumps(labels, sort_keys=True),
        bool(host["metadata"].get("deletionTimestamp")))


def wait_predicate(spec):
    """--for forms: condition=Ready, condition=Ready=False, phase=Running,
    label=KEY=VALUE, label=KEY, jsonpath=PATH=VALUE, delete|gone, exists."""
    kind, _, rest = spec.partition("=")
    kind = kind.lower()
    if kind in ("delete", "deleted", "gone"):
        return lambda h: h is None
    if kind in ("exists", "create", "created"):
        return lambda h: h is not None
    if kind == "condition":
        ctype, _, status = rest.partition("=")
        status = (status or "True").lower()
        return lambda h: h is not None and any(
            c.get("type", "").lower() == ctype.lower() and
            c.get("status", "").lower() == status
            for c in h.get("status", {}).get("conditions") or [])
    if kind == "phase":
        return lambda h: h is not None and h.get("status", {}).get("phase") == rest
    if kind == "label":
        key, eq, value = rest.partition("=")
        return lambda h: h is not None and key in (h["metadata"].get("labels") or {}) and (
            not eq or h["metadata"]["labels"][key] == value)
    if kind == "jsonpath":
        m = re.match(r"(.*?)=(.*)\Z", rest)
        if not m:
            raise CliError("jsonpath wait needs PATH=VALUE")
        return lambda h: h is not None and field_text(
            get_field(es.host_view(h), m.group(1))) == m.group(2)
    raise CliError("unknown --for %r" % spec)


def wait_host(store, ns, name, spec, timeout):
    pred = wait_predicate(spec)
    deadline = time.monotonic() + timeout
    while True:
        host = store.get_host(ns, name)
        if pred(host):
            out("elementalhost/%s condition met: %s" % (name, spec))
            return 0
        if time.monotonic() >= deadline:
            sys.stderr.write("error: timed out after %gs waiting for %s on elementalhost/%s: "
                             "%s\n" % (timeout, spec, name, describe(host)))
            return 1
        time.sleep(0.1)


# ---------------------------------------------------------------- faults, requests

def cmd_fault(store, a):
    if a.action == "list":
        for f in store.list_faults():
            out(json.dumps(f, sort_keys=True))
        return
    if a.action == "clear":
        store.clear_faults(a.id)
        out("faults cleared")
        return
    spec = {}
    if a.status is not None and not (a.mutate or a.body is not None and a.content_type):
        spec.update(action="status", status=a.status)
        if a.body is not None:
            spec["body"] = a.body
    if a.body is not None and a.content_type:
        spec.update(action="body", body=a.body, content_type=a.content_type)
        if a.status is not None:
            spec["status"] = a.status
    if a.bad_json:
        spec.update(action="bad-json")
    if a.huge:
        spec.update(action="huge", size=a.size or 64 << 20)
    if a.mutate:
        try:
            spec.update(action="mutate", mutate=json.loads(a.mutate))
        except ValueError as e:
            raise CliError("--mutate is not JSON: %s" % e)
        if a.status is not None:
            spec["status"] = a.status
    if a.close:
        spec.update(action="close")
    if a.truncate:
        spec.update(action="truncate", size=a.size or 200)
    if a.delay_ms:
        spec["delay_ms"] = a.delay_ms
        spec.setdefault("action", "delay")
    if "action" not in spec:
        raise CliError("say what the fault does: --status, --body with --content-type, "
                       "--bad-json, --huge, --mutate, --close, --truncate or --delay-ms")
    if a.apply:
        spec["apply"] = True
    fid = store.add_fault(a.method, a.path, -1 if a.always else a.count, spec)
    out(str(fid))


def cmd_requests(store, a):
    for r in store.requests(a.since):
        if a.path and not re.search(a.path, r.get("path") or ""):
            continue
        if a.method and (r.get("method") or "") != a.method.upper():
            continue
        if a.no_body:
            r.pop("body", None)
        out(json.dumps(r, sort_keys=True))


def cmd_setting(store, a):
    if a.action == "list":
        for k, v in sorted(store.settings().items()):
            out("%s=%s" % (k, v if "\n" not in v else v.splitlines()[0] + " ..."))
    elif a.action == "get":
        v = store.get_setting(a.key)
        if v is None:
            raise CliError("setting %s is not set" % a.key)
        out(v)
    elif a.action == "set":
        if a.key == "auth_mode" and a.value not in ("strict", "upstream"):
            raise CliError("auth_mode is strict or upstream")
        store.set_setting(a.key, a.value)


# ---------------------------------------------------------------- argument parsing

def build_parser():
    ap = argparse.ArgumentParser(description="kubectl stand-in for the test Elemental API server")
    ap.add_argument("--db", required=True, help="the server's SQLite state file")
    ns_parent = argparse.ArgumentParser(add_help=False)
    ns_parent.add_argument("-n", "--namespace", default="default")
    sub = ap.add_subparsers(dest="kind", required=True)

    reg = sub.add_parser("registration", aliases=["reg"]).add_subparsers(dest="action",
                                                                       required=True)
    p = reg.add_parser("create", parents=[ns_parent],
                       help="create an ElementalRegistration, print the agent config")
    p.add_argument("name")
    p.add_argument("--spec", help="ElementalRegistration spec (YAML/JSON file, '-' = stdin); "
                   "a whole manifest with apiVersion/kind/metadata/spec also works")
    p.add_argument("--ca", help="CA PEM for registration.caCert (default: the server's --ca)")
    p.add_argument("--external-url", help="base URL (default: the running server's)")
    p.add_argument("--agent-config", metavar="OUT",
                   help="write the agent config here (then only the URI is printed)")
    p = reg.add_parser("agent-config", parents=[ns_parent])
    p.add_argument("name")
    p.add_argument("--out")
    p = reg.add_parser("show", parents=[ns_parent])
    p.add_argument("name")
    p.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml")
    p.add_argument("--field", help="print one field, e.g. spec.config.elemental.registration.uri")
    reg.add_parser("list", parents=[ns_parent])
    p = reg.add_parser("token", parents=[ns_parent], help="print a registration token")
    p.add_argument("name")
    p.add_argument("--duration", help="token lifetime (ns or Go duration; 0 = no exp); "
                   "default: the registration's tokenDuration")
    p.add_argument("--expired", action="store_true", help="issued 2h ago, already expired")
    p.add_argument("--not-yet-valid", action="store_true", help="nbf one hour ahead")
    p.add_argument("--wrong-key", action="store_true", help="signed by an unrelated key")
    p.add_argument("--sub")
    p.add_argument("--aud")
    p.add_argument("--store", action="store_true",
                   help="also make it the registration's token (what agents get back)")
    p = reg.add_parser("rotate-key", parents=[ns_parent],
                       help="new signing key + token: old tokens stop working")
    p.add_argument("name")
    p = reg.add_parser("delete", parents=[ns_parent])
    p.add_argument("name")

    host = sub.add_parser("host").add_subparsers(dest="action", required=True)
    p = host.add_parser("list", parents=[ns_parent])
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-o", "--output", choices=["table", "json"], default="table")
    p = host.add_parser("show", parents=[ns_parent])
    p.add_argument("name")
    p.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml")
    p = host.add_parser("get", parents=[ns_parent], help="print one field")
    p.add_argument("name")
    p.add_argument("--field", required=True,
                   help="e.g. status.phase, metadata.labels[KEY], "
                        "status.conditions[type=Ready].status")
    p = host.add_parser("response", parents=[ns_parent],
                        help="print the API HostResponse the agent would get")
    p.add_argument("name")
    p = host.add_parser("history", parents=[ns_parent],
                        help="changes to the host (phases, conditions, labels) as JSON lines")
    p.add_argument("name")
    p.add_argument("--since", type=int, default=0)
    p = host.add_parser("label", parents=[ns_parent])
    p.add_argument("name")
    p.add_argument("pairs", nargs="+", metavar="KEY=VALUE|KEY-")
    p = host.add_parser("annotate", parents=[ns_parent])
    p.add_argument("name")
    p.add_argument("pairs", nargs="+", metavar="KEY=VALUE|KEY-")
    p = host.add_parser("patch", parents=[ns_parent], help="JSON merge patch of the object")
    p.add_argument("name")
    p.add_argument("-p", "--patch", required=True)
    p = host.add_parser("patch-os-version", parents=[ns_parent],
                        help="set spec.osVersionManagement (JSON merge patch)")
    p.add_argument("name")
    p.add_argument("--json", required=True, help='e.g. \'{"osVersion":{"imageUri":"oci://..."}}\'')
    p.add_argument("--replace", action="store_true", help="replace instead of merging")
    p.add_argument("--via-machine", action="store_true",
                   help="as if propagated from the ElementalMachine (sets OSVersionReady False)")
    p.add_argument("--machine", default="elemental-machine")
    p = host.add_parser("set-bootstrap", parents=[ns_parent], help="attach a bootstrap secret")
    p.add_argument("name")
    p.add_argument("--format", help="secret 'format' (absent = upstream default cloud-config)")
    p.add_argument("--config", help="file with the bootstrap config ('-' = stdin)")
    p.add_argument("--value", help="bootstrap config text")
    p.add_argument("--secret-name")
    p.add_argument("--machine", help="also associate a machine (machineRef + labels)")
    p.add_argument("--no-value", action="store_true", help="secret without 'value' (500)")
    p.add_argument("--dangling", action="store_true", help="reference a missing secret (500)")
    p = host.add_parser("delete", parents=[ns_parent],
                        help="delete like kubectl: needs-reset, finalizer until reset")
    p.add_argument("name")
    p.add_argument("--wait", action="store_true", help="wait until the host is gone")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--force", action="store_true", help="drop the finalizer: gone at once")
    p.add_argument("--ignore-not-found", action="store_true")
    p = host.add_parser("wait", parents=[ns_parent])
    p.add_argument("name")
    p.add_argument("--for", dest="for_", required=True,
                   help="condition=Ready | condition=X=False | phase=Running | label=K=V | "
                        "jsonpath=PATH=VALUE | gone | exists")
    p.add_argument("--timeout", type=float, default=120)

    fault = sub.add_parser("fault").add_subparsers(dest="action", required=True)
    p = fault.add_parser("set", help="add a fault rule; prints its id")
    p.add_argument("--path", required=True, help="regex searched in the request path")
    p.add_argument("--method", default="*")
    p.add_argument("--count", type=int, default=1, help="how many requests (default 1)")
    p.add_argument("--always", action="store_true", help="until cleared")
    p.add_argument("--status", type=int, help="answer with this status (text body)")
    p.add_argument("--body", help="body text (with --content-type: a raw body)")
    p.add_argument("--content-type")
    p.add_argument("--bad-json", action="store_true", help="200 with truncated JSON")
    p.add_argument("--huge", action="store_true", help="200 with a huge JSON body")
    p.add_argument("--size", type=int, help="bytes for --huge (default 64 MiB) / --truncate")
    p.add_argument("--mutate", help="JSON merge patch applied to the real response, "
                   "e.g. '{\"installed\":\"yes\"}' or '{\"labels\":5}'")
    p.add_argument("--close", action="store_true", help="close the connection, no response")
    p.add_argument("--truncate", action="store_true",
                   help="announce --size bytes, send fewer, close")
    p.add_argument("--delay-ms", type=int, help="sleep before answering")
    p.add_argument("--apply", action="store_true",
                   help="run the real handler first (state changes) and then fault")
    fault.add_parser("list")
    p = fault.add_parser("clear")
    p.add_argument("id", nargs="?", type=int)

    p = sub.add_parser("requests", help="recorded requests as JSON lines")
    p.add_argument("--since", type=int, default=0, help="only ids greater than this")
    p.add_argument("--path", help="regex on the path")
    p.add_argument("--method")
    p.add_argument("--no-body", action="store_true")

    st = sub.add_parser("setting").add_subparsers(dest="action", required=True)
    st.add_parser("list")
    p = st.add_parser("get")
    p.add_argument("key")
    p = st.add_parser("set", help="e.g. auth_mode upstream|strict, leeway 0")
    p.add_argument("key")
    p.add_argument("value")
    return ap


def main(argv=None):
    a = build_parser().parse_args(argv)
    store = es.Store(a.db)
    try:
        handler = {"registration": cmd_registration, "reg": cmd_registration,
                   "host": cmd_host, "fault": cmd_fault, "requests": cmd_requests,
                   "setting": cmd_setting}[a.kind]
        return handler(store, a) or 0
    except CliError as e:
        sys.stderr.write("error: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
