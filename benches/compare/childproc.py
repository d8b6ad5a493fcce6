"""Shared by the Dask-side comparison scripts (dask_passes.py, dask_flagship.py,
dask_zarr.py): the timing rule of a measurement and the child process that runs it.

Every measurement runs in a fresh child process (the calling script with `--child SPEC`),
bounded by a timeout and an address-space limit; its peak RSS is the child's ru_maxrss
from os.wait4, so it includes the interpreter, imports and every run.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading


def timed_runs(once, repeat, before=None):
    """Call once() -> (seconds, extra dict) `repeat` times, or by the default rule (three
    times when the first run takes under 10 s, else once); `before()` runs before each
    call, off the clock.  Returns the best run's extras with "seconds" and all "runs"."""
    import gc
    results = []
    while True:
        if before:
            before()
        gc.collect()
        results.append(once())
        want = repeat if repeat is not None else (3 if results[0][0] < 10.0 else 1)
        if len(results) >= want:
            break
    best = min(results, key=lambda r: r[0])
    return {"seconds": best[0], "runs": [r[0] for r in results], **best[1]}


def run_child(script, row, spec, timeout, as_limit_bytes, env=None):
    """Run `script --child SPEC` and return `row` completed with the child's last JSON
    line, its peak RSS ("peak_rss_mb"), or an "error" (timeout, or exit status and the
    end of its stderr)."""

    def limit_memory():
        if as_limit_bytes > 0:
            resource.setrlimit(resource.RLIMIT_AS, (as_limit_bytes, as_limit_bytes))

    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(
            [sys.executable, os.path.abspath(script), "--child", json.dumps(spec)],
            stdout=subprocess.PIPE, stderr=err, text=True, preexec_fn=limit_memory,
            env={**os.environ, **(env or {})})
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        timed_out = not timer.is_alive()
        timer.cancel()
        err.seek(0)
        err_tail = err.read()[-500:]
    row["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
    if code == 0:
        row.update(json.loads(out.strip().splitlines()[-1]))
    elif timed_out:
        row["error"] = f"timeout after {timeout} s"
    else:
        row["error"] = f"exit {code}: {err_tail.strip()}"
    return row
