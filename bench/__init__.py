"""Side-by-side benchmarks of psops against the Go sops executable (see bench/README.md)."""
