#!/usr/bin/python3
"""The layering rule of src/ (DESIGN.md, README): a folder includes only from
folders below it. Reads every #include "folder/file.h" under src/ and fails on
one that runs upward, naming it. Usage: layers.py SOURCE_ROOT
"""
import os
import re
import sys

LAYERS = ["base", "config", "model", "format", "cache", "strava", "import", "sync", "mount", "cli"]


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
    for path, target in sorted(found):
        print("%s includes from %s/, a layer above it (order: %s)" % (path, target, " < ".join(LAYERS)))
    print("layering broken" if found else "no upward includes")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
