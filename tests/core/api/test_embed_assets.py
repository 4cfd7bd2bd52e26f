#!/usr/bin/env python3
"""scripts/embed-assets.py: every byte value survives the trip into a C++ string literal.

The script's escapes (\\n, \\t, \\", \\\\ and three-digit octal) mean the same in C++ and in a Python bytes
literal, so the generated literals are read back with ast.literal_eval and compared with the input.
Also: unknown extensions and paths outside --base are refused with a message naming the file.
"""
import ast
import os
import re
import subprocess
import sys
import tempfile

script = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(base, files, out):
    return subprocess.run([sys.executable, script, "--output", out, "--base", base, *files],
                          capture_output=True, text=True)


def bodies(cpp):
    """{name: bytes} read back from the generated source."""
    found = {}
    for m in re.finditer(r"// (\S+) \((\d+) bytes\)\nconstexpr char kBody\d+\[\] =\n((?:    \".*\"\n?)+);", cpp):
        lits = [ast.literal_eval("b" + line.strip()) for line in m.group(3).splitlines()]
        found[m.group(1)] = (b"".join(lits), int(m.group(2)))
    return found


with tempfile.TemporaryDirectory() as d:
    base = os.path.join(d, "assets")
    os.makedirs(os.path.join(base, "img"))
    samples = {
        "index.html": "<p>\"quoted\" \\ back??=slash ??/ trigraph-like\n\ttab</p>\n".encode(),
        "app.js": "const s = '\u00e9\u2603';\n".encode("utf-8") + b"\x00\x01\x7f\xff" + b"7\x008",
        "img/all.png": bytes(range(256)) * 3,
        "empty.txt": b"",
    }
    for name, data in samples.items():
        with open(os.path.join(base, name), "wb") as fh:
            fh.write(data)
    out = os.path.join(d, "out.cpp")
    r = run(base, [os.path.join(base, n) for n in samples], out)
    check(r.returncode == 0, f"embed failed: {r.stderr}")
    with open(out, encoding="ascii") as fh:
        cpp = fh.read()
    got = bodies(cpp)
    for name, data in samples.items():
        check(name in got, f"{name} missing from the output")
        if name in got:
            check(got[name][0] == data, f"{name}: body differs after the round trip")
            check(got[name][1] == len(data), f"{name}: size comment {got[name][1]} != {len(data)}")
    check('{"img/all.png", "image/png",' in cpp, "png content type")
    check('{"index.html", "text/html; charset=utf-8",' in cpp, "html content type")
    check("??" not in cpp.split("namespace {", 1)[1].replace("\\077", ""), "a '??' sequence left in the output")

    with open(os.path.join(base, "notes.exe"), "wb") as fh:
        fh.write(b"x")
    r = run(base, [os.path.join(base, "notes.exe")], out)
    check(r.returncode != 0 and "notes.exe" in r.stderr and "content type" in r.stderr, f"unknown extension: {r.stderr!r}")
    outside = os.path.join(d, "outside.html")
    with open(outside, "wb") as fh:
        fh.write(b"x")
    r = run(base, [outside], out)
    check(r.returncode != 0 and "not under" in r.stderr, f"file outside base: {r.stderr!r}")

if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ok: round trip of", len(samples), "files, refusals checked")
