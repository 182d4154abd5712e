"""The benchmarks: `python -m bench.bench_hub` (ci/bench-hub) and
`python -m bench.bench_spawner` (ci/bench-spawner). spawn_worker.py is a
script run by other virtualenvs' pythons (upstream's spawner has no bench)."""
