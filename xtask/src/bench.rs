//! `cargo xtask bench`: runs the side-by-side benchmark suite (see benches/).

pub(crate) fn run(_args: &[String]) -> Result<(), String> {
    Err("the benchmark suite is not built yet".into())
}
