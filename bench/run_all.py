"""Run every benchmark on both databases; paste the output into docs/BENCHMARKS.md."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ["event_fanout.py", "--rounds", "200"],
    ["board.py", "--rounds", "100", "--tickets", "1000"],
    ["ticket_create.py", "--seconds", "15"],
    ["dedup.py", "--sizes", "100000,1000000", "--probes", "300"],
    ["lead_import.py", "--stored", "100000", "--rows", "100000"],
    ["automation.py", "--rounds", "100"],
]

for script, *args in BENCHMARKS:
    for backend in ("sqlite", "postgres"):
        subprocess.run([sys.executable, str(HERE / script), "--backend", backend, *args], check=True)
