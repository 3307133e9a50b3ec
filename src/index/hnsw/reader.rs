//! Opening a graph file: memory-map it, check it, and serve searches from
//! the map with no copy of the links.
//!
//! The one `unsafe` of the index lives here: mapping the file and viewing
//! its byte sections as `u32` / `u64` tables.

use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use super::error::IndexError;
use super::format::{check_tables, Header, HeaderError, Layout, VERSION};
use super::graph::{HnswGraph, Sections, Storage};

/// A mapped graph file whose layout has been checked: every section is in
/// bounds and aligned for its element type.
#[derive(Debug)]
pub(crate) struct MappedLinks {
    map: Mmap,
    layout: Layout,
}

impl MappedLinks {
    /// The five tables, borrowed from the map.
    pub(crate) fn sections(&self) -> Sections<'_> {
        let layout = &self.layout;
        Sections {
            layer0: cast(&self.map[layout.layer0.clone()]),
            upper_offsets: cast(&self.map[layout.upper_offsets.clone()]),
            upper: cast(&self.map[layout.upper.clone()]),
            payload_offsets: cast(&self.map[layout.payload_offsets.clone()]),
            payload: cast(&self.map[layout.payload.clone()]),
        }
    }
}

/// Views little-endian bytes as a table of `T`. Non-empty sections start
/// at multiples of 64 in a page-aligned map and are whole numbers of `T`
/// (checked by [`open_graph`] before any `MappedLinks` exists), so nothing
/// falls outside the aligned middle; if it ever did, the table would read
/// as shorter, never as out of bounds.
fn cast<T: Word>(bytes: &[u8]) -> &[T] {
    // SAFETY: `T` is `u32` or `u64` (sealed by `Word`): every bit pattern
    // is a valid value and there is no padding, and `align_to` only puts
    // correctly aligned, whole elements in the middle slice, which borrows
    // `bytes` for its lifetime.
    let (_, table, _) = unsafe { bytes.align_to::<T>() };
    table
}

/// Plain integers that may be read straight from file bytes.
trait Word: Copy {}
impl Word for u32 {}
impl Word for u64 {}

pub(crate) fn open_graph(path: &Path) -> Result<HnswGraph, IndexError> {
    if cfg!(target_endian = "big") {
        return Err(IndexError::corrupted(
            path,
            "graph files are little-endian and cannot be mapped on this platform",
        ));
    }
    let file = File::open(path).map_err(|e| IndexError::io(path, e))?;
    // SAFETY: graph files are written once under a temporary name and
    // renamed into place (see `writer`), never modified afterwards; the map
    // is read-only. A file truncated or rewritten behind the server's back
    // is outside what any mmap-based store can defend against.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| IndexError::io(path, e))?;

    let header = Header::decode(&map).map_err(|e| match e {
        HeaderError::Corrupted(reason) => IndexError::corrupted(path, reason),
        HeaderError::UnsupportedVersion(found) => IndexError::UnsupportedVersion {
            path: path.to_owned(),
            found,
            supported: VERSION,
        },
    })?;
    let layout = header.layout;
    if map.len() != layout.file_len {
        return Err(IndexError::corrupted(
            path,
            format!(
                "file is {} bytes, header says {}",
                map.len(),
                layout.file_len
            ),
        ));
    }
    if crc32c::crc32c(&map[super::format::HEADER_LEN..]) != header.body_crc {
        return Err(IndexError::corrupted(path, "body checksum mismatch"));
    }
    let mapped = MappedLinks { map, layout };
    let sections = mapped.sections();
    let layout = &mapped.layout;
    let whole = |table_bytes: usize, range: &std::ops::Range<usize>| table_bytes == range.len();
    if !whole(sections.layer0.len() * 4, &layout.layer0)
        || !whole(sections.upper_offsets.len() * 8, &layout.upper_offsets)
        || !whole(sections.upper.len() * 4, &layout.upper)
        || !whole(sections.payload_offsets.len() * 8, &layout.payload_offsets)
        || !whole(sections.payload.len() * 4, &layout.payload)
    {
        return Err(IndexError::corrupted(path, "sections are not aligned"));
    }

    let graph = HnswGraph::from_parts(header.meta, Storage::Mapped(mapped));
    check_tables(&graph.tables(), graph.meta())
        .map_err(|reason| IndexError::corrupted(path, reason))?;
    Ok(graph)
}
