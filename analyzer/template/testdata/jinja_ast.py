#!/usr/bin/python3
"""Parse Jinja templates with Python's jinja2 for the differential test of
the template parser (differential_test.go).

Reads a JSON list of template file paths on stdin and prints a JSON list with,
for each file: whether jinja2 parsed it, and the attribute names (Getattr,
NSRef), filter names, test names and string constants of its syntax tree.

Templates are only parsed: jinja2.Environment.parse builds the syntax tree;
nothing is compiled to Python code, nothing is rendered.
"""
import json
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension


class Generation(Extension):
    """The {% generation %} block of Hugging Face's chat templates."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def summary(env, source):
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as e:
        return {"ok": False, "error": str(e)}
    attrs, filters, tests, strings = set(), set(), set(), set()
    for n in tree.find_all(nodes.Node):
        if isinstance(n, (nodes.Getattr, nodes.NSRef)):
            attrs.add(n.attr)
        elif isinstance(n, nodes.Filter):
            filters.add(n.name)
        elif isinstance(n, nodes.Test):
            tests.add(n.name)
        elif isinstance(n, nodes.Const) and isinstance(n.value, str):
            strings.add(n.value)
    return {
        "ok": True,
        "attrs": sorted(attrs),
        "filters": sorted(filters),
        "tests": sorted(tests),
        "strings": sorted(strings),
    }


def main():
    env = jinja2.Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", Generation])
    out = []
    for path in json.load(sys.stdin):
        with open(path, encoding="utf-8", newline="") as f:
            source = f.read()
        r = summary(env, source)
        r["file"] = path
        out.append(r)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
