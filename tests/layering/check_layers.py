#!/usr/bin/env python3
"""Checks that each Cohort library includes only from itself and the libraries
below it (docs/architecture.md). Prints every offending include with its file
and line, and exits 1 if there is one.

    check_layers.py SOURCE_DIR

A library is a top-level folder with an include/cohort/ tree; the concept
folders under include/cohort/ say which library owns a header. The linker
catches calls upward (every shared library links with --no-undefined); this
catches the includes, which compile even when nothing is linked.
"""
import pathlib
import re
import sys

# Each library and the libraries it may use, itself included.
ALLOWED = {
    "core": {"core"},
    "tuner": {"core", "tuner"},
    "framework": {"core", "framework"},
    "strategies": {"core", "framework", "strategies"},
    "job": {"core", "framework", "strategies", "job"},
    "sweep": {"core", "tuner", "framework", "strategies", "job", "sweep"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]cohort/([A-Za-z0-9_]+)/')


def owners(root):
    """Concept folder (e.g. "trainer") -> the library whose include tree holds it."""
    found = {}
    for library in ALLOWED:
        for concept in sorted((root / library / "include" / "cohort").glob("*/")):
            if concept.name in found:
                sys.exit(f"check_layers: include/cohort/{concept.name} is in both {found[concept.name]} "
                         f"and {library}; a concept belongs to one library.")
            found[concept.name] = library
    return found


def violations(root, owner_of):
    for library, allowed in ALLOWED.items():
        for path in sorted((root / library).rglob("*")):
            if path.suffix not in {".h", ".hpp", ".cpp", ".in"}:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                used = owner_of.get(match.group(1))
                if used is None:
                    yield f"{path.relative_to(root)}:{number}: includes cohort/{match.group(1)}/, which no library has"
                elif used not in allowed:
                    yield (f"{path.relative_to(root)}:{number}: {library} includes from {used} "
                           f"(cohort/{match.group(1)}/), a library above it")


def self_test():
    """An upward include in a small tree must be found, and a downward one not."""
    import tempfile
    with tempfile.TemporaryDirectory() as scratch:
        root = pathlib.Path(scratch)
        for library, concept in [("core", "config"), ("framework", "trainer"), ("strategies", "strategies")]:
            (root / library / "include" / "cohort" / concept).mkdir(parents=True)
        (root / "framework" / "src").mkdir()
        (root / "framework" / "src" / "trainer.cpp").write_text(
            '#include "cohort/config/schema.h"\n#include "cohort/strategies/single.h"\n')
        found = list(violations(root, owners(root)))
    expected = ["framework/src/trainer.cpp:2: framework includes from strategies (cohort/strategies/), a library above it"]
    if found != expected:
        print(f"self-test failed: found {found}, expected {expected}")
        return 1
    print("self-test ok: an upward include is caught")
    return 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 2:
        sys.exit("usage: check_layers.py SOURCE_DIR | --self-test")
    root = pathlib.Path(sys.argv[1])
    found = list(violations(root, owners(root)))
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} include(s) against the layers")
        return 1
    print(f"layers ok: {', '.join(ALLOWED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
