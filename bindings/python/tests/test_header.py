"""The binding's hand-written copies of kse.h agree with the header itself:
the status numbers and names, and the layout of every struct it passes to C
(sizes and field offsets measured by a C compiler on the real header)."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess

import pytest

from support import REPO, WORK

HEADER = REPO / "include" / "kse.h"


def header_statuses() -> dict:
    found = dict(re.findall(r"^#define (KSE_(?:OK|ERR_[A-Z0-9_]+)) (\d+)$", HEADER.read_text(), re.M))
    assert "KSE_OK" in found and len(found) > 5, "no status table found in kse.h"
    return {name: int(value) for name, value in found.items()}


def test_status_table_equals_the_header(kse):
    assert {s.c_name: int(s) for s in kse.Status} == header_statuses()


def test_struct_layouts_equal_the_header(kse):
    from kse import _library

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("a C compiler (cc) is needed to measure kse.h's struct layouts")
    structs = {"kse_options": _library.Options, "kse_error": _library.Error, "kse_encode_stats": _library.Stats}
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "kse.h"', "int main(void) {"]
    for c_name, py in structs.items():
        lines.append(f'    printf("{c_name} size %zu\\n", sizeof({c_name}));')
        for field, _ in py._fields_:
            lines.append(f'    printf("{c_name} {field} %zu\\n", offsetof({c_name}, {field}));')
    lines += ["    return 0;", "}"]
    WORK.mkdir(parents=True, exist_ok=True)
    src, exe = WORK / "layout.c", WORK / "layout"
    src.write_text("\n".join(lines) + "\n")
    subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-I", str(REPO / "include"), str(src), "-o", str(exe)],
                   check=True, capture_output=True, text=True)
    measured = {}
    for line in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines():
        struct, field, value = line.split()
        measured[(struct, field)] = int(value)
    for c_name, py in structs.items():
        assert measured[(c_name, "size")] == ctypes.sizeof(py), c_name
        for field, _ in py._fields_:
            assert measured[(c_name, field)] == getattr(py, field).offset, f"{c_name}.{field}"
    # Every field of the C struct is declared in Python too: the last field ends where the struct does
    # (up to padding).
    for c_name, py in structs.items():
        last, ctype = py._fields_[-1]
        end = getattr(py, last).offset + ctypes.sizeof(ctype)
        assert measured[(c_name, "size")] - end < ctypes.alignment(py), f"{c_name} has fields after {last}"
