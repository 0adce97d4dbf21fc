//! Benchmark workloads shared by the bench binaries.
