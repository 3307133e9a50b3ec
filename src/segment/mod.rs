//! A segment: id tracker, memory-mapped vector storage, payload storage and
//! filters over them.

pub mod filter;
pub mod payload;
pub mod point_id;
