"""Run a command and report its peak resident memory.

    python peak_rss.py CMD [ARGS...]

Passes the command's stdout through line by line, then prints one JSON line
    {"peak_rss_mb": float, "rows": int, "exit": int, "cmd": [...]}
where peak_rss_mb is resource.getrusage(RUSAGE_CHILDREN).ru_maxrss (KiB on
Linux) / 1024: the largest RSS of the command or any of its descendants, the
same kernel counter that `/usr/bin/time -v` prints as "Maximum resident set
size".  `rows` counts the JSON-object lines the command printed, so that
report.py can attach the figure to them.  Exits with the command's status.
Used for both chunkwise and Dask so that both are measured the same way.
"""
import json
import resource
import subprocess
import sys

cmd = sys.argv[1:]
if not cmd:
    sys.exit(__doc__)
rows = 0
with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as p:
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        rows += line.lstrip().startswith("{")
rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"peak_rss_mb": round(rss_mb, 1), "rows": rows,
                  "exit": p.returncode, "cmd": cmd}), flush=True)
sys.exit(p.returncode)
