//! The on-disk format of a graph file (version 2; version 1 is still read).
//!
//! All integers little-endian. The file is the header, then five sections,
//! each starting at a multiple of [`SECTION_ALIGN`] (64) bytes, zero padding
//! between them, so that every table is aligned for its element type (and
//! to a cache line) once the file is memory-mapped at a page boundary:
//!
//! ```text
//! offset size  field
//!      0    8  magic "VFHNSW\0\0"
//!      8    4  format version (2)
//!     12    4  header length (128)
//!     16    4  point_count  n
//!     20    4  m            links per upper-layer node
//!     24    4  m0           links per layer-0 record
//!     28    4  ef_construct (informational)
//!     32    8  seed         of the level assignment
//!     40    4  entry point  (0xFFFF_FFFF: nothing indexed)
//!     44    4  max_level    (level of the entry point)
//!     48    4  distance     0 Cosine, 1 Euclid, 2 Dot, 3 Manhattan
//!     52    4  payload_m    (informational; 0: no payload links)
//!     56    8  offset of layer0          n × (1 + m0) u32
//!     64    8  offset of upper_offsets   (n + 1) u64
//!     72    8  offset of upper           upper_len u32
//!     80    8  upper_len, in u32 words
//!     88    8  file length
//!     96    4  CRC-32C of bytes [128, file length)
//!    100    8  offset of payload_offsets (n + 1) u64, or none if payload_len is 0
//!    108    8  offset of payload         payload_len u32
//!    116    8  payload_len, in u32 words
//!    124    4  CRC-32C of bytes [0, 124)
//!    128       layer0, upper_offsets, upper, payload_offsets, payload
//!              (see `graph` for their layout)
//! ```
//!
//! When `payload_len` is 0 the two payload sections are empty and start
//! where `upper` ends, with no padding: the body is then exactly what
//! version 1 wrote for the same graph. Version 1 had bytes 52..56
//! and 100..124 reserved as zero and no payload sections; a reader accepts
//! it when those bytes are zero, as a graph without payload links, so that
//! segments written before version 2 open without a rebuild.
//!
//! The section offsets are redundant (a reader recomputes them from `n`,
//! `m0`, `upper_len` and `payload_len` and requires equality); they are
//! stored so that a later version can add sections without moving these. A
//! reader checks both checksums and then the structure ([`check_tables`])
//! before serving a search, so a damaged file fails to open rather than
//! giving wrong answers or panicking.

#![deny(unsafe_code)]

use std::ops::Range;

use super::graph::{GraphMeta, LinkTables};
use super::level::MAX_LEVEL;
use super::params::MAX_LINKS;
use crate::index::distance::Distance;
use crate::segment::point_id::PointOffset;

pub const MAGIC: [u8; 8] = *b"VFHNSW\0\0";
/// The version written.
pub const VERSION: u32 = 2;
/// The oldest version still read (see the module docs).
pub const OLDEST_READABLE: u32 = 1;
pub const HEADER_LEN: usize = 128;
pub const SECTION_ALIGN: usize = 64;
const NO_ENTRY: u32 = u32::MAX;
/// Bytes covered by the header checksum (everything before it).
const HEADER_CRC_AT: usize = 124;

/// Byte ranges of the sections in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) layer0: Range<usize>,
    pub(crate) upper_offsets: Range<usize>,
    pub(crate) upper: Range<usize>,
    pub(crate) payload_offsets: Range<usize>,
    pub(crate) payload: Range<usize>,
    pub(crate) file_len: usize,
}

impl Layout {
    /// The layout for `point_count` points, `m0` links on layer 0,
    /// `upper_len` words of upper-layer records and `payload_len` words of
    /// payload links; `None` if it would not be addressable on this
    /// platform.
    pub(crate) fn new(point_count: u64, m0: u64, upper_len: u64, payload_len: u64) -> Option<Self> {
        let align = |at: u64| at.checked_next_multiple_of(SECTION_ALIGN as u64);
        let section = |start: u64, bytes: u64| -> Option<Range<usize>> {
            let end = start.checked_add(bytes)?;
            Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
        };
        let layer0_start = align(HEADER_LEN as u64)?;
        let layer0 = section(
            layer0_start,
            point_count
                .checked_mul(m0.checked_add(1)?)?
                .checked_mul(4)?,
        )?;
        let offsets = section(
            align(layer0.end as u64)?,
            point_count.checked_add(1)?.checked_mul(8)?,
        )?;
        let upper = section(align(offsets.end as u64)?, upper_len.checked_mul(4)?)?;
        let (payload_offsets, payload) = if payload_len == 0 {
            (upper.end..upper.end, upper.end..upper.end)
        } else {
            let payload_offsets = section(
                align(upper.end as u64)?,
                point_count.checked_add(1)?.checked_mul(8)?,
            )?;
            let payload = section(
                align(payload_offsets.end as u64)?,
                payload_len.checked_mul(4)?,
            )?;
            (payload_offsets, payload)
        };
        Some(Layout {
            file_len: payload.end,
            layer0,
            upper_offsets: offsets,
            upper,
            payload_offsets,
            payload,
        })
    }
}

/// Everything the header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) meta: GraphMeta,
    pub(crate) upper_len: u64,
    pub(crate) payload_len: u64,
    pub(crate) layout: Layout,
    pub(crate) body_crc: u32,
}

/// Why a header was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    Corrupted(String),
    UnsupportedVersion(u32),
}

fn distance_code(distance: Distance) -> u32 {
    match distance {
        Distance::Cosine => 0,
        Distance::Euclid => 1,
        Distance::Dot => 2,
        Distance::Manhattan => 3,
    }
}

fn distance_from_code(code: u32) -> Option<Distance> {
    match code {
        0 => Some(Distance::Cosine),
        1 => Some(Distance::Euclid),
        2 => Some(Distance::Dot),
        3 => Some(Distance::Manhattan),
        _ => None,
    }
}

impl Header {
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let meta = &self.meta;
        let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
        put(0, &MAGIC);
        put(8, &VERSION.to_le_bytes());
        put(12, &(HEADER_LEN as u32).to_le_bytes());
        put(16, &meta.point_count.to_le_bytes());
        put(20, &meta.m.to_le_bytes());
        put(24, &meta.m0.to_le_bytes());
        put(28, &meta.ef_construct.to_le_bytes());
        put(32, &meta.seed.to_le_bytes());
        let entry = meta.entry_point.map_or(NO_ENTRY, |e| e.0);
        put(40, &entry.to_le_bytes());
        put(44, &meta.max_level.to_le_bytes());
        put(48, &distance_code(meta.distance).to_le_bytes());
        put(52, &meta.payload_m.to_le_bytes());
        put(56, &(self.layout.layer0.start as u64).to_le_bytes());
        put(64, &(self.layout.upper_offsets.start as u64).to_le_bytes());
        put(72, &(self.layout.upper.start as u64).to_le_bytes());
        put(80, &self.upper_len.to_le_bytes());
        put(88, &(self.layout.file_len as u64).to_le_bytes());
        put(96, &self.body_crc.to_le_bytes());
        put(
            100,
            &(self.layout.payload_offsets.start as u64).to_le_bytes(),
        );
        put(108, &(self.layout.payload.start as u64).to_le_bytes());
        put(116, &self.payload_len.to_le_bytes());
        let crc = crc32c::crc32c(&out[..HEADER_CRC_AT]);
        out[HEADER_CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks a header: magic, version, checksum, field ranges
    /// and section offsets. The body checksum is the caller's to verify.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Header, HeaderError> {
        let corrupted = |reason: &str| Err(HeaderError::Corrupted(reason.to_owned()));
        if bytes.len() < HEADER_LEN {
            return corrupted("shorter than the header");
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let u64_at = |at: usize| u64::from(u32_at(at)) | (u64::from(u32_at(at + 4)) << 32);
        if bytes[..8] != MAGIC {
            return corrupted("bad magic: not an HNSW graph file");
        }
        let version = u32_at(8);
        if !(OLDEST_READABLE..=VERSION).contains(&version) {
            return Err(HeaderError::UnsupportedVersion(version));
        }
        if crc32c::crc32c(&bytes[..HEADER_CRC_AT]) != u32_at(HEADER_CRC_AT) {
            return corrupted("header checksum mismatch");
        }
        if u32_at(12) as usize != HEADER_LEN {
            return corrupted("unexpected header length");
        }
        let Some(distance) = distance_from_code(u32_at(48)) else {
            return corrupted("unknown distance code");
        };
        let (m, m0, max_level) = (u32_at(20), u32_at(24), u32_at(44));
        if !(2..=MAX_LINKS as u32).contains(&m) || !(1..=MAX_LINKS as u32).contains(&m0) {
            return corrupted("link counts out of range");
        }
        if max_level as usize > MAX_LEVEL {
            return corrupted("max_level out of range");
        }
        let point_count = u32_at(16);
        let entry_point = match u32_at(40) {
            NO_ENTRY => None,
            e if e < point_count => Some(PointOffset(e)),
            _ => return corrupted("entry point out of range"),
        };
        if version == 1 && (u32_at(52) != 0 || bytes[100..HEADER_CRC_AT].iter().any(|&b| b != 0)) {
            return corrupted("reserved header bytes are not zero");
        }
        let upper_len = u64_at(80);
        let payload_len = u64_at(116);
        let Some(layout) = Layout::new(
            u64::from(point_count),
            u64::from(m0),
            upper_len,
            payload_len,
        ) else {
            return corrupted("sections exceed the address space");
        };
        // Version 1 stored no payload sections, hence no offsets for them.
        let payload_starts = if version == 1 {
            [
                layout.payload_offsets.start as u64,
                layout.payload.start as u64,
            ]
        } else {
            [u64_at(100), u64_at(108)]
        };
        let stored = [
            u64_at(56),
            u64_at(64),
            u64_at(72),
            u64_at(88),
            payload_starts[0],
            payload_starts[1],
        ];
        let expected = [
            layout.layer0.start,
            layout.upper_offsets.start,
            layout.upper.start,
            layout.file_len,
            layout.payload_offsets.start,
            layout.payload.start,
        ]
        .map(|v| v as u64);
        if stored != expected {
            return corrupted("section offsets do not match the point count");
        }
        Ok(Header {
            meta: GraphMeta {
                point_count,
                m,
                m0,
                ef_construct: u32_at(28),
                seed: u64_at(32),
                distance,
                entry_point,
                max_level,
                payload_m: u32_at(52),
            },
            upper_len,
            payload_len,
            layout,
            body_crc: u32_at(96),
        })
    }
}

/// Structural checks of a graph's tables: link counts within `m0` / `m`,
/// links to existing nodes that reach the layer, no self-links, upper and
/// payload offsets consistent, the entry point at the top. Duplicates are
/// not looked for here (quadratic per node; the builders' tests cover
/// them), nor is a bound on payload links per node (it depends on the
/// groups, which the file does not record).
pub(crate) fn check_tables(tables: &LinkTables<'_>, meta: &GraphMeta) -> Result<(), String> {
    let n = meta.point_count as usize;
    if tables.upper_offsets.first() != Some(&0)
        || tables.upper_offsets.last() != Some(&(tables.upper.len() as u64))
    {
        return Err("upper-layer offsets do not span the upper table".to_owned());
    }
    for (node, pair) in tables.upper_offsets.windows(2).enumerate() {
        let words = pair[1]
            .checked_sub(pair[0])
            .ok_or("upper-layer offsets decrease")?;
        if words % tables.stride as u64 != 0
            || words / tables.stride as u64 > u64::from(meta.max_level)
        {
            return Err(format!("node {node} has a malformed upper-layer block"));
        }
    }
    for node in 0..n {
        let level = tables.level(node);
        for l in 0..=level {
            let capacity = if l == 0 { meta.m0 } else { meta.m } as usize;
            let record = tables
                .record(node, l)
                .ok_or_else(|| format!("node {node} has no record on layer {l}"))?;
            // A record is `1 + capacity` words long, so a count within the
            // capacity is within the record.
            let count = record[0] as usize;
            if count > capacity {
                return Err(format!(
                    "node {node} has {count} links on layer {l}, over {capacity}"
                ));
            }
            for &link in &record[1..1 + count] {
                if link as usize >= n || link as usize == node || tables.level(link as usize) < l {
                    return Err(format!("node {node} has a bad link {link} on layer {l}"));
                }
            }
        }
    }
    check_payload_tables(tables, n)?;
    match meta.entry_point {
        Some(entry) if tables.level(entry.0 as usize) != meta.max_level as usize => {
            Err("the entry point is not at the top level".to_owned())
        }
        None if meta.max_level != 0 || !tables.upper.is_empty() => {
            Err("a graph without entry point has upper layers".to_owned())
        }
        _ => Ok(()),
    }
}

/// The payload-link part of [`check_tables`].
fn check_payload_tables(tables: &LinkTables<'_>, n: usize) -> Result<(), String> {
    if tables.payload_offsets.is_empty() {
        return if tables.payload.is_empty() {
            Ok(())
        } else {
            Err("payload links without payload offsets".to_owned())
        };
    }
    if tables.payload_offsets.len() != n + 1
        || tables.payload_offsets.first() != Some(&0)
        || tables.payload_offsets.last() != Some(&(tables.payload.len() as u64))
    {
        return Err("payload offsets do not span the payload table".to_owned());
    }
    if tables
        .payload_offsets
        .windows(2)
        .any(|pair| pair[1] < pair[0])
    {
        return Err("payload offsets decrease".to_owned());
    }
    for node in 0..n {
        for &link in tables.payload_links(node) {
            if link as usize >= n || link as usize == node {
                return Err(format!("node {node} has a bad payload link {link}"));
            }
        }
    }
    Ok(())
}
