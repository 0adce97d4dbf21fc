//! asyncio's queues and Rust's channels for any executor (work in progress).
