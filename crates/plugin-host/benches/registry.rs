//! Benchmarks of the plugin registry (being written).
fn main() {}
