//! asyncio's synchronization primitives for any executor (work in progress).
