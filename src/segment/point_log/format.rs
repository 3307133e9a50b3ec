//! Byte layout of the point log.
//!
//! ```text
//! header:  b"VFPL" | u32 LE format version (1)
//! record:  u32 LE body length | u32 LE crc32c(body) | body
//! body:    MessagePack (named fields) of a `PointLogRecord`
//! ```
//!
//! The header is 8 bytes; records follow back to back with no padding.

use serde::{Deserialize, Serialize};

use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;

pub const MAGIC: &[u8; 4] = b"VFPL";
pub const VERSION: u32 = 1;
pub const HEADER_LEN: u64 = 8;
pub const RECORD_HEADER_LEN: usize = 8;

/// One change to a segment's points. Offsets are `PointOffset` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PointLogRecord {
    /// `id` now lives at the fresh `offset` (offsets are handed out densely).
    Insert { id: PointId, offset: u32 },
    /// The point at `offset` is gone; the offset is never reused.
    Delete { offset: u32 },
    /// The full payload of the point at `offset` is now `payload`, as
    /// written by WAL operation `version`.
    Payload {
        offset: u32,
        payload: Payload,
        version: u64,
    },
    /// The point at `offset` now carries exactly these named vectors, as
    /// written by WAL operation `version`.
    Vectors {
        offset: u32,
        present: Vec<String>,
        version: u64,
    },
}

pub fn encode(record: &PointLogRecord) -> Vec<u8> {
    let body = rmp_serde::to_vec_named(record).unwrap_or_else(|e| {
        // Serialising our own enum into a Vec cannot fail: no I/O, no
        // non-string map keys. Reaching this is a programming error.
        unreachable!("point log record encodes: {e}")
    });
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

pub fn header() -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..4].copy_from_slice(MAGIC);
    h[4..].copy_from_slice(&VERSION.to_le_bytes());
    h
}
