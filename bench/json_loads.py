#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/json_loads.py FILE - the Python peer of `vigie analyze` in `make bench` (section 6,
bench/README.md): json.loads on every line of a JSON Lines file, nothing else. Prints the
number of lines parsed."""
import json
import sys


def main():
    n = 0
    loads = json.loads
    with open(sys.argv[1], "rb") as f:
        for line in f:
            loads(line)
            n += 1
    print(n)


if __name__ == "__main__":
    main()
