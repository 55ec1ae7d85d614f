#!/usr/bin/python3
"""Resolves the kernel modules the boot image ships and the order the agent loads them in.

    modules.py --moddir /lib/modules/KVER --stage STAGING MODULE...

For each requested module (name as `modprobe` takes it: `-` and `_` alike, or an alias such as
`crypto-crc32c`) this follows, from the kernel's own files:
  - hard dependencies: `modules.dep`;
  - soft dependencies: `softdep` lines of `modules.softdep` and the `softdep` field of each
    module's modinfo (`pre:` modules load before, `post:` modules after).
It copies every needed `.ko` into STAGING/lib/modules/KVER/<same relative path> (decompressing
`.ko.xz`, `.ko.zst`, `.ko.gz`), copies `modules.builtin*` and `modules.order`, and prints the load
order on stdout: one absolute in-image path per line, dependencies first, soft pre-dependencies
before the module that wants them, soft post-dependencies after it.

Rules:
  - A requested module that is neither a module nor built into the kernel fails the run.
  - A soft dependency that cannot be found is reported on stderr and skipped (modprobe does the
    same). A built-in module needs nothing copied.
  - An alias several modules provide (`crypto-crc32c`: crc32c_generic and crc32c_intel) resolves to
    the `*_generic` module when there is one, so the image loads on every CPU; otherwise to all of
    them, in name order.
"""
import argparse
import fnmatch
import lzma
import gzip
import os
import subprocess
import sys

SUFFIXES = (".ko.xz", ".ko.zst", ".ko.gz", ".ko")


def norm(name):
    return name.replace("-", "_")


def modname(path):
    base = os.path.basename(path)
    for s in SUFFIXES:
        if base.endswith(s):
            return norm(base[: -len(s)])
    raise ValueError(f"not a kernel module file name: {path}")


class Kernel:
    def __init__(self, moddir):
        self.moddir = moddir
        self.path = {}      # name -> relative path
        self.deps = {}      # name -> [names] (modules.dep order)
        self.builtin = set()
        self.aliases = []   # (pattern, name)
        self.soft = {}      # name -> ([pre], [post]) raw (unresolved) names
        dep = os.path.join(moddir, "modules.dep")
        if not os.path.isfile(dep):
            raise SystemExit(f"modules.py: {dep} not found (is the kernel's package installed?)")
        with open(dep) as f:
            for line in f:
                if ":" not in line:
                    continue
                mod, rest = line.split(":", 1)
                name = modname(mod)
                self.path[name] = mod.strip()
                self.deps[name] = [modname(d) for d in rest.split()]
        for fn in ("modules.builtin",):
            p = os.path.join(moddir, fn)
            if os.path.isfile(p):
                with open(p) as f:
                    self.builtin = {modname(l.strip()) for l in f if l.strip()}
        p = os.path.join(moddir, "modules.alias")
        if os.path.isfile(p):
            with open(p) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 3 and w[0] == "alias":
                        self.aliases.append((w[1], norm(w[2])))
        p = os.path.join(moddir, "modules.softdep")
        if os.path.isfile(p):
            with open(p) as f:
                for line in f:
                    w = line.split()
                    if len(w) >= 3 and w[0] == "softdep":
                        self._add_soft(norm(w[1]), w[2:])

    def _add_soft(self, name, words):
        pre, post = self.soft.setdefault(name, ([], []))
        cur = pre  # modprobe.d(5): names before any "pre:"/"post:" are pre-dependencies
        for w in words:
            if w == "pre:":
                cur = pre
            elif w == "post:":
                cur = post
            elif w not in cur:
                cur.append(w)

    def add_modinfo_softdeps(self, name):
        """Adds the `softdep` fields of the module's own modinfo (usually already in modules.softdep)."""
        out = subprocess.run(["modinfo", "-F", "softdep", os.path.join(self.moddir, self.path[name])],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.strip():
                self._add_soft(name, line.split())

    def resolve(self, want):
        """Module names for a requested name or alias: [] when built in, None when unknown."""
        n = norm(want)
        if n in self.path:
            return [n]
        if n in self.builtin:
            return []
        hits = sorted({m for pat, m in self.aliases if fnmatch.fnmatchcase(want, pat)
                       or fnmatch.fnmatchcase(n, norm(pat))})
        hits = [m for m in hits if m in self.path] or [m for m in hits if m in self.builtin]
        if not hits:
            return None
        generic = [m for m in hits if m.endswith("_generic")]
        if generic:
            return generic[:1]
        return [m for m in hits if m in self.path]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--moddir", required=True, help="the kernel's /lib/modules/KVER")
    ap.add_argument("--stage", required=True, help="the image staging root")
    ap.add_argument("modules", nargs="+")
    a = ap.parse_args()
    k = Kernel(a.moddir)
    kver = os.path.basename(os.path.normpath(a.moddir))

    order, state = [], {}  # state: name -> "visiting" | "done"

    def visit(name, why):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            # A soft dependency that leads back (jbd2 <-> ext4 style loops) is already on its way.
            return
        state[name] = "visiting"
        k.add_modinfo_softdeps(name)
        pre, post = k.soft.get(name, ([], []))
        for s in pre:
            visit_soft(s, name)
        # modules.dep lists the whole closure; visiting each in reverse (as modprobe loads them)
        # and letting each pull its own dependencies first gives a valid order.
        for d in reversed(k.deps[name]):
            if d not in k.path:
                raise SystemExit(f"modules.py: {name} depends on {d}, which modules.dep does not list")
            visit(d, name)
        order.append(name)
        state[name] = "done"
        for s in post:
            visit_soft(s, name)

    def visit_soft(want, by):
        mods = k.resolve(want)
        if mods is None:
            print(f"modules.py: note: soft dependency {want} of {by} not found; skipped", file=sys.stderr)
            return
        for m in mods:
            visit(m, by)

    missing = []
    for want in a.modules:
        mods = k.resolve(want)
        if mods is None:
            missing.append(want)
            continue
        if not mods:
            print(f"modules.py: note: {want} is built into the kernel", file=sys.stderr)
        for m in mods:
            visit(m, "request")
    if missing:
        raise SystemExit(f"modules.py: ERROR: kernel {kver} has no module {' '.join(missing)} "
                         f"(not in {a.moddir}/modules.dep, modules.builtin or modules.alias)")

    dest_root = os.path.join(a.stage, "lib", "modules", kver)
    for name in order:
        rel = k.path[name]
        src = os.path.join(a.moddir, rel)
        for s in SUFFIXES:
            if rel.endswith(s):
                rel_ko = rel[: -len(s)] + ".ko"
                break
        dst = os.path.join(dest_root, rel_ko)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if src.endswith(".xz"):
            data = lzma.open(src).read()
        elif src.endswith(".gz"):
            data = gzip.open(src).read()
        elif src.endswith(".zst"):
            data = subprocess.run(["zstd", "-dcq", src], check=True, capture_output=True).stdout
        else:
            with open(src, "rb") as f:
                data = f.read()
        with open(dst, "wb") as f:
            f.write(data)
        k.path[name] = rel_ko
        print(f"/lib/modules/{kver}/{rel_ko}")
    for fn in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        p = os.path.join(a.moddir, fn)
        if os.path.isfile(p):
            os.makedirs(dest_root, exist_ok=True)
            with open(p, "rb") as f, open(os.path.join(dest_root, fn), "wb") as g:
                g.write(f.read())


if __name__ == "__main__":
    main()
