"""Writes every fixture under testdata/models and the list testdata/models/expected.tsv.

Run through make_models.sh (it pins the environment). Nothing written here is
ever loaded or executed: see README.md.
"""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

MAX_FILE = 300 * 1024
MAX_TOTAL = 3 * 1024 * 1024


def main():
    for sub in ("benign", "malicious"):
        shutil.rmtree(os.path.join(common.MODELS, sub), ignore_errors=True)
    common.seed_everything(0)

    import gen_torch  # noqa: E402
    import gen_tabular  # noqa: E402
    import gen_arrays  # noqa: E402

    gen_torch.generate()
    gen_tabular.generate()
    gen_arrays.generate()

    rows = sorted(common.manifest())
    listed = [r[0] for r in rows]
    assert len(listed) == len(set(listed)), "a path is listed twice"
    on_disk = []
    for sub in ("benign", "malicious"):
        for dirpath, _, files in os.walk(os.path.join(common.MODELS, sub)):
            for name in files:
                on_disk.append(os.path.relpath(os.path.join(dirpath, name), common.MODELS))
    missing = sorted(set(on_disk) - set(listed))
    assert not missing, f"written but not listed: {missing}"

    total = 0
    for rel in listed:
        size = os.path.getsize(os.path.join(common.MODELS, rel))
        assert size <= MAX_FILE, f"{rel} is {size} bytes"
        total += size
    assert total <= MAX_TOTAL, f"total {total} bytes"

    with open(os.path.join(common.MODELS, "expected.tsv"), "w", newline="\n") as f:
        f.write("path\tlabel\tnote\n")
        for rel, label, note in rows:
            f.write(f"{rel}\t{label}\t{note}\n")
    print(f"{len(rows)} fixtures, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
