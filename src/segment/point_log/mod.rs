//! The point log: an append-only file recording which point ids live at
//! which offsets, their payloads and which named vectors they carry.
//!
//! Together with the vector files it is a segment's durable state. Records
//! are only ever appended; the segment's meta file says how many bytes of
//! the log belong to the last flush, and anything after that is dropped on
//! load (it is rebuilt by replaying the write-ahead log). See [`format`] for
//! the byte layout.

pub mod format;
pub mod reader;
pub mod writer;

pub use format::PointLogRecord;
pub use reader::read_log;
pub use writer::PointLogWriter;
