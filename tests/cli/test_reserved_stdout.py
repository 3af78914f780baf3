"""`--json` output is one document even when native code writes to fd 1 (issue #21's CI failure:
Ray printed a line to stdout after the sweep's JSON when a worker node had died)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.cluster.local_cluster import PROJECT_ROOT

SCRIPT = textwrap.dedent(
    """
    import atexit, os, sys
    from cluster.cli_common import reserved_stdout

    atexit.register(lambda: os.write(1, b"late native line at exit\\n"))
    with reserved_stdout(whole_process={whole}) as emit:
        print("a library print")
        os.write(1, b"a native write\\n")
        emit('{{"ok": true}}')
    """
)


def _run(whole: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(whole=whole)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip


def test_stdout_carries_only_the_document_and_the_rest_goes_to_stderr() -> None:
    proc = _run(whole=True)
    assert json.loads(proc.stdout) == {"ok": True}
    for line in ("a library print", "a native write", "late native line at exit"):
        assert line in proc.stderr


def test_negative_control_python_level_redirect_lets_native_writes_through() -> None:
    """Without the fd-level redirect the document is followed by native lines: what broke CI."""
    proc = _run(whole=False)
    assert "a library print" in proc.stderr
    assert "late native line at exit" in proc.stdout
    assert proc.stdout.splitlines()[0] != proc.stdout.strip()
