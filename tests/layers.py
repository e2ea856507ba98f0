#!/usr/bin/python3
"""The layering rule of src/ (DESIGN.md, README): a folder includes only from
folders below it. Reads every #include "folder/file.h" under src/ and fails on
one that runs upward, naming it.

KNOWN lists the upward includes that predate the rule (issue 13, step 2
breaks them); a new one fails, and so does a known one that is gone, so that
the list only shrinks. Usage: layers.py SOURCE_ROOT
"""
import os
import re
import sys

LAYERS = ["base", "config", "model", "format", "cache", "strava", "import", "sync", "mount", "cli"]

KNOWN = {
    ("src/model/activity.cc", "format"),       # the mount's file sizes, computed where a row is built
    ("src/model/activity_page.cc", "format"),  # the same, for a listing page
}


def upward(root):
    found = set()
    for layer in LAYERS:
        folder = os.path.join(root, "src", layer)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                for target in re.findall(r'^#include "([a-z_]+)/', f.read(), re.M):
                    if target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
                        found.add(("src/%s/%s" % (layer, name), target))
    return found


def main():
    found = upward(sys.argv[1])
    bad = False
    for path, target in sorted(found - KNOWN):
        print("%s includes from %s/, a layer above it (order: %s)" % (path, target, " < ".join(LAYERS)))
        bad = True
    for path, target in sorted(KNOWN - found):
        print("%s no longer includes from %s/: remove it from KNOWN in %s" % (path, target, __file__))
        bad = True
    print("%d upward includes, all known" % len(found) if not bad else "layering broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
