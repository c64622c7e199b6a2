"""`cliffhanger sim`: a deterministic OpenAI-compatible simulator for dry runs, benchmarks and tests.

Entry points live in submodules (nothing is imported here): `config` (SimConfig, parse_faults,
parse_quirks), `server` (create_app), `runner` (serve, run_in_thread, pick_free_port) and
`schema_fill` (fill).
"""
