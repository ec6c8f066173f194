"""``python -m bench``: run the benchmark runner (see bench/run.py and bench/README.md)."""

from bench.run import main

main()
