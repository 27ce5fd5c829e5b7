#!/usr/bin/env python3
"""Checks the crate's module imports for loops (ARCHITECTURE.md, "Layering").

Reads every src/**/*.rs outside src/bin, takes the `crate::`, `super::` and `self::` paths of its
non-test code (comments and `#[cfg(test)] mod` blocks at the end of a file left out), resolves each
to the module file it names, and looks for cycles at two levels: between the top-level modules,
and between the files inside one of them. Edges to a module's own ancestors or descendants do
not count (a parent re-exports, a child uses its parent's items). Prints each loop and exits 1
when there is one.
"""
import collections
import os
import re
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

mods = {}
for root, _, files in os.walk("src"):
    if root.startswith("src/bin"):
        continue
    for f in files:
        if f.endswith(".rs"):
            path = os.path.join(root, f)
            parts = path[len("src/"):-len(".rs")].split("/")
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            mods["::".join(parts)] = path


def resolve(cur, path):
    segs = path.split("::")
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    else:
        base = cur
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    for i in range(len(segs), -1, -1):
        cand = "::".join(base + segs[:i])
        if cand in mods:
            return cand
    return None


edges = collections.defaultdict(set)
for mod, path in mods.items():
    cur = mod.split("::") if mod else []
    text = open(path).read()
    cut = text.find("#[cfg(test)]\nmod ")
    if cut >= 0:
        text = text[:cut]
    text = "\n".join(l for l in text.split("\n") if not l.strip().startswith("//"))
    for m in re.finditer(r"\b((?:crate|super|self)(?:::[a-z_][a-z0-9_]*)+)", text):
        target = resolve(cur, m.group(1))
        if not target or target == mod or mod.startswith(target + "::") or target.startswith(mod + "::"):
            continue
        edges[mod].add(target)


def loops(graph):
    found, seen = [], set()

    def walk(node, stack):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cyc = stack[stack.index(nxt):] + [nxt]
                if frozenset(cyc) not in seen:
                    seen.add(frozenset(cyc))
                    found.append(cyc)
            elif len(stack) < 10:
                walk(nxt, stack + [nxt])

    for node in sorted(graph):
        walk(node, [node])
    return found


top = collections.defaultdict(set)
inner = collections.defaultdict(set)
for a, targets in edges.items():
    for b in targets:
        if a.split("::")[0] != b.split("::")[0]:
            top[a.split("::")[0]].add(b.split("::")[0])
        else:
            inner[a].add(b)
bad = loops(top) + loops(inner)
for cyc in bad:
    print("import loop: " + " -> ".join(cyc))
print(f"import-loops: {len(mods)} modules, {sum(map(len, edges.values()))} imports, {len(bad)} loops")
sys.exit(1 if bad else 0)
