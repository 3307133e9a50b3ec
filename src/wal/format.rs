//! The on-disk format of a WAL segment file: the file name, the file header
//! and the record framing. Pure encoding and decoding, no I/O.
//!
//! # Segment file
//!
//! A WAL directory holds segment files named after the sequence number of
//! their first record, zero-padded to 20 decimal digits so that names sort
//! in sequence order: `00000000000000000001.wal`. The name is assigned when
//! the file is created, before any record is in it, so an empty segment still
//! says which sequence number comes next.
//!
//! Every segment starts with a [`FileHeader`] of [`FILE_HEADER_LEN`] bytes,
//! followed by records back to back: no padding, no alignment, no footer.
//! A file ends after its last complete record.
//!
//! # Record
//!
//! Each record is a [`RECORD_HEADER_LEN`]-byte header and the payload:
//!
//! ```text
//! offset  size  field
//!      0     4  payload length, u32 little-endian, at most MAX_RECORD_LEN
//!      4     4  CRC-32C (Castagnoli) over the 8 sequence bytes, then the payload
//!      8     8  sequence number, u64 little-endian
//!     16   len  payload, opaque bytes
//! ```
//!
//! The CRC does not cover the length field itself, but a damaged length
//! frames a different span of bytes as the payload, which then fails the CRC
//! (or runs past the end of the file); either way the record is rejected.
//! Sequence numbers are contiguous: the first record of a segment carries the
//! number in the file name, each next record the previous one plus one, and
//! a reader checks that too, which catches stale or misplaced records whose
//! CRC happens to be intact.

/// The first 8 bytes of every segment file. The `\r\n` catches a file that
/// went through a line-ending conversion.
pub(super) const MAGIC: [u8; 8] = *b"VFGWAL\r\n";

/// The format version this build writes and reads.
pub(super) const FORMAT_VERSION: u32 = 1;

/// Size of [`FileHeader`] on disk.
pub(super) const FILE_HEADER_LEN: u64 = 24;

/// Size of a record header on disk (length, CRC, sequence number).
pub(super) const RECORD_HEADER_LEN: u64 = 16;

/// The largest payload [`Wal::append`](super::Wal::append) accepts: 1 GiB.
///
/// Readers treat a larger length field as damage, which also keeps a garbage
/// length from making them allocate gigabytes.
pub const MAX_RECORD_LEN: usize = 1 << 30;

/// File name extension of segment files.
const SEGMENT_EXTENSION: &str = ".wal";

/// Digits in a segment file name: enough for `u64::MAX`.
const SEGMENT_NAME_DIGITS: usize = 20;

/// The name of the segment file whose first record has sequence `first_seq`.
pub(super) fn segment_file_name(first_seq: u64) -> String {
    format!(
        "{first_seq:0width$}{SEGMENT_EXTENSION}",
        width = SEGMENT_NAME_DIGITS
    )
}

/// The first sequence number encoded in a segment file name, or `None` when
/// `name` is not a segment file name (other files in the directory are left
/// alone).
pub(super) fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_EXTENSION)?;
    if digits.len() != SEGMENT_NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The header at the start of every segment file.
///
/// ```text
/// offset  size  field
///      0     8  MAGIC, b"VFGWAL\r\n"
///      8     4  format version, u32 little-endian (FORMAT_VERSION)
///     12     4  CRC-32C over bytes 0..12 and 16..24
///     16     8  first sequence number, u64 little-endian, equal to the file name
/// ```
///
/// The header is written and fsynced when the file is created, before any
/// record, so a torn header can only belong to a file that never held a
/// record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileHeader {
    pub first_seq: u64,
}

/// Why a file header was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeaderError {
    BadMagic,
    BadChecksum,
    /// Magic and CRC are intact but the version is not [`FORMAT_VERSION`].
    UnsupportedVersion(u32),
}

impl HeaderError {
    pub fn reason(self) -> &'static str {
        match self {
            HeaderError::BadMagic => "bad magic bytes in segment header",
            HeaderError::BadChecksum => "segment header checksum mismatch",
            HeaderError::UnsupportedVersion(_) => "unsupported segment format version",
        }
    }
}

impl FileHeader {
    pub fn encode(self) -> [u8; FILE_HEADER_LEN as usize] {
        let mut bytes = [0u8; FILE_HEADER_LEN as usize];
        bytes[0..8].copy_from_slice(&MAGIC);
        bytes[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.first_seq.to_le_bytes());
        let crc = header_crc(&bytes);
        bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8; FILE_HEADER_LEN as usize]) -> Result<FileHeader, HeaderError> {
        if bytes[0..8] != MAGIC {
            return Err(HeaderError::BadMagic);
        }
        if le_u32(&bytes[12..16]) != header_crc(bytes) {
            return Err(HeaderError::BadChecksum);
        }
        let version = le_u32(&bytes[8..12]);
        if version != FORMAT_VERSION {
            return Err(HeaderError::UnsupportedVersion(version));
        }
        Ok(FileHeader {
            first_seq: le_u64(&bytes[16..24]),
        })
    }
}

fn header_crc(bytes: &[u8; FILE_HEADER_LEN as usize]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&bytes[0..12]), &bytes[16..24])
}

/// The fixed-size header in front of every record's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RecordHeader {
    pub len: u32,
    pub crc: u32,
    pub seq: u64,
}

impl RecordHeader {
    /// The header for `payload` stored under `seq`. The caller has checked
    /// `payload.len() <= MAX_RECORD_LEN`.
    pub fn for_payload(seq: u64, payload: &[u8]) -> RecordHeader {
        RecordHeader {
            // MAX_RECORD_LEN < u32::MAX, checked by the caller.
            len: payload.len() as u32,
            crc: crc32c::crc32c_append(seq_crc(seq), payload),
            seq,
        }
    }

    pub fn encode(self) -> [u8; RECORD_HEADER_LEN as usize] {
        let mut bytes = [0u8; RECORD_HEADER_LEN as usize];
        bytes[0..4].copy_from_slice(&self.len.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.crc.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.seq.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: &[u8; RECORD_HEADER_LEN as usize]) -> RecordHeader {
        RecordHeader {
            len: le_u32(&bytes[0..4]),
            crc: le_u32(&bytes[4..8]),
            seq: le_u64(&bytes[8..16]),
        }
    }

    /// Bytes this record takes on disk, header included.
    pub fn disk_len(self) -> u64 {
        RECORD_HEADER_LEN + u64::from(self.len)
    }
}

/// The CRC state after the sequence number; continue it over the payload
/// with [`crc32c::crc32c_append`].
pub(super) fn seq_crc(seq: u64) -> u32 {
    crc32c::crc32c(&seq.to_le_bytes())
}

fn le_u32(bytes: &[u8]) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(bytes);
    u32::from_le_bytes(buf)
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(bytes);
    u64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_sort_in_sequence_order_and_round_trip() {
        assert_eq!(segment_file_name(1), "00000000000000000001.wal");
        assert_eq!(
            parse_segment_file_name(&segment_file_name(u64::MAX)),
            Some(u64::MAX)
        );
        assert!(segment_file_name(9) < segment_file_name(10));
        assert_eq!(parse_segment_file_name("1.wal"), None);
        assert_eq!(parse_segment_file_name("0000000000000000000a.wal"), None);
        assert_eq!(parse_segment_file_name("00000000000000000001.tmp"), None);
        assert_eq!(parse_segment_file_name("+0000000000000000001.wal"), None);
    }

    #[test]
    fn file_header_round_trips_and_rejects_damage() {
        let header = FileHeader { first_seq: 42 };
        let bytes = header.encode();
        assert_eq!(FileHeader::decode(&bytes), Ok(header));

        let mut flipped = bytes;
        flipped[20] ^= 1;
        assert_eq!(FileHeader::decode(&flipped), Err(HeaderError::BadChecksum));

        let mut magic = bytes;
        magic[0] = b'X';
        assert_eq!(FileHeader::decode(&magic), Err(HeaderError::BadMagic));

        let mut version = bytes;
        version[8..12].copy_from_slice(&7u32.to_le_bytes());
        let crc = header_crc(&version);
        version[12..16].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            FileHeader::decode(&version),
            Err(HeaderError::UnsupportedVersion(7))
        );
    }

    #[test]
    fn record_header_round_trips() {
        let header = RecordHeader::for_payload(7, b"hello");
        assert_eq!(RecordHeader::decode(&header.encode()), header);
        assert_eq!(header.disk_len(), RECORD_HEADER_LEN + 5);
        let mut crc_input = 7u64.to_le_bytes().to_vec();
        crc_input.extend_from_slice(b"hello");
        assert_eq!(header.crc, crc32c::crc32c(&crc_input));
    }
}
