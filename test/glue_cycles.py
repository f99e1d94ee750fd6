#!/usr/bin/python3
"""No call cycles between the glue's modules (src/pg, src/pg/train).

    python3 test/glue_cycles.py        # after make

Reads the symbols each object file defines and uses (nm), draws the graph
"module A calls or reads something module B defines", prints it, and fails
when a module can reach itself.  hrm.c (_PG_init) is the root; leaf modules
(settings, SPI helpers, large objects, ...) call none of the others.
"""
import glob
import os
import subprocess
import sys


def symbols(obj):
    defined, used = set(), set()
    for line in subprocess.check_output(["nm", obj], text=True).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRC":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    objs = sorted(glob.glob(os.path.join(root, "src/pg/*.o")) + glob.glob(os.path.join(root, "src/pg/train/*.o")))
    if not objs:
        sys.exit("glue_cycles: no object files under src/pg (run make first)")
    defs, uses = {}, {}
    for o in objs:
        m = os.path.basename(o)[:-2]
        defs[m], uses[m] = symbols(o)
    owner = {s: m for m, ss in defs.items() for s in ss}
    graph = {m: sorted({owner[s] for s in uses[m] if s in owner and owner[s] != m}) for m in defs}

    def reach(a):
        seen, stack = set(), [a]
        while stack:
            for b in graph[stack.pop()]:
                if b not in seen:
                    seen.add(b)
                    stack.append(b)
        return seen

    for m in sorted(graph):
        print(f"{m} -> {', '.join(graph[m]) or '(leaf)'}")
    bad = [(a, b) for a in graph for b in graph[a] if a in reach(b)]
    for a, b in bad:
        via = sorted(s for s in uses[a] if owner.get(s) == b)
        print(f"CYCLE: {a} -> {b} ({', '.join(via)}) and {b} reaches {a}")
    print(f"glue_cycles: {len(graph)} modules, {len(bad)} edges on a cycle")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
