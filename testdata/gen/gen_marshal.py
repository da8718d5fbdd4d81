#!/usr/bin/env python3
"""Write marshal fixtures for internal/pymarshal.

Each fixture is marshal.dumps(code) of a lambda's code object, the bytes a
Keras Lambda layer stores (base64 of marshal.dumps(func.__code__)). The
lambdas are only compiled: compile() of the source yields a module code
object whose constants hold the lambda's code. No function object is built
and nothing is ever called or exec'd, so the payloads never run.

Next to each NAME.marshal it writes NAME.b64 (codecs base64, with newlines,
as Keras writes it) and NAME.json, the summary Python's own introspection
gives (co_name, co_names, string constants...), which the Go tests compare
to what internal/pymarshal decodes.

Run with the interpreter whose layout you want (CPython 3.11 here):
    python3 testdata/gen/gen_marshal.py
"""

import codecs
import json
import marshal
import os
import sys
import types

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "internal", "pymarshal", "testdata"))

# name -> source. Each source holds exactly one top-level lambda, possibly
# inside a def (for the closure case); the first code constant whose name is
# <lambda> is the fixture.
FIXTURES = {
    "double": "lambda x: x * 2",
    "os_system": "lambda x: __import__('os').system('id') or x",
    "exec_string": "lambda x: exec(\"import os; os.system('id')\") or x",
    "eval_string": "lambda x: eval(\"__import__('os').getcwd()\") or x",
    "nested": ("lambda x: [(lambda y: y + __import__('subprocess').getoutput('id'))(v) "
               "for v in ('a', ('b', 'c')) if v not in {'q'}] and x"),
    "closure": ("def make(k):\n"
                "    return lambda x, scale=2, *rest, key='k', **kw: x * k * scale\n"),
    "cell_arg": "lambda x, y=1: (lambda: x + y)() or x",
    "bytes_const": "lambda x: exec(b'print(1)') or x",
}


def find_lambda(code):
    """Depth-first search of code constants for the first <lambda>."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name == "<lambda>":
                return const
            found = find_lambda(const)
            if found is not None:
                return found
    return None


def const_strings(consts, out):
    """String and bytes constants through tuples/frozensets, not code."""
    for c in consts:
        if isinstance(c, str):
            s = c
        elif isinstance(c, bytes):
            s = c.decode("ascii")  # fixtures keep bytes constants ASCII
        elif isinstance(c, (tuple, frozenset)):
            const_strings(sorted(c, key=repr) if isinstance(c, frozenset) else c, out)
            continue
        else:
            continue
        if s not in out:
            out.append(s)
    return out


def nested_codes(consts, out):
    for c in consts:
        if isinstance(c, types.CodeType):
            out.append(c)
        elif isinstance(c, (tuple, frozenset)):
            nested_codes(c, out)
    return out


def summary(code):
    return {
        "name": code.co_name,
        "qualname": getattr(code, "co_qualname", ""),
        "filename": code.co_filename,
        "firstline": code.co_firstlineno,
        "argcount": code.co_argcount,
        "posonlyargcount": code.co_posonlyargcount,
        "kwonlyargcount": code.co_kwonlyargcount,
        "flags": code.co_flags,
        "names": list(code.co_names),
        "strings": const_strings(code.co_consts, []),
        "varnames": list(code.co_varnames),
        "freevars": list(code.co_freevars),
        "cellvars": list(code.co_cellvars),
        "nested": [summary(c) for c in nested_codes(code.co_consts, [])],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    version = "%d.%d" % sys.version_info[:2]
    for name, src in FIXTURES.items():
        module = compile(src, "<stdin>", "exec")
        code = find_lambda(module)
        assert code is not None, name
        raw = marshal.dumps(code)
        exp = summary(code)
        exp["python"] = version
        with open(os.path.join(OUT, name + ".marshal"), "wb") as f:
            f.write(raw)
        with open(os.path.join(OUT, name + ".b64"), "w") as f:
            f.write(codecs.encode(raw, "base64").decode("ascii"))
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(exp, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote", name, len(raw), "bytes")


if __name__ == "__main__":
    main()
