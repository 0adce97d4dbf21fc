//! `cargo xtask`: maintainer tasks for tulip (work in progress).

fn main() {}
