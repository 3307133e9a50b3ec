//! Reads the point log back on segment load.

use std::path::Path;

use super::format::{self, PointLogRecord};
use crate::segment::SegmentError;

/// Reads every record in the first `valid_len` bytes of the log at `path`.
///
/// Those bytes were fsynced before the segment meta recorded `valid_len`, so
/// any damage inside them is corruption, not a torn write, and fails the load.
pub fn read_log(path: &Path, valid_len: u64) -> Result<Vec<PointLogRecord>, SegmentError> {
    if valid_len <= format::HEADER_LEN {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(path).map_err(|source| SegmentError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupted = |offset: usize, reason: &str| SegmentError::Corrupted {
        path: path.to_path_buf(),
        reason: format!("point log at byte {offset}: {reason}"),
    };
    let valid_len = valid_len as usize;
    if bytes.len() < valid_len {
        return Err(corrupted(
            bytes.len(),
            "file is shorter than the last flush recorded",
        ));
    }
    if &bytes[..4] != format::MAGIC || bytes[4..8] != format::VERSION.to_le_bytes() {
        return Err(corrupted(0, "bad magic or unsupported version"));
    }
    let mut records = Vec::new();
    let mut pos = format::HEADER_LEN as usize;
    while pos < valid_len {
        if pos + format::RECORD_HEADER_LEN > valid_len {
            return Err(corrupted(pos, "truncated record header"));
        }
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let crc = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        let body_start = pos + format::RECORD_HEADER_LEN;
        let Some(body) = bytes
            .get(body_start..body_start + len)
            .filter(|_| body_start + len <= valid_len)
        else {
            return Err(corrupted(pos, "truncated record body"));
        };
        if crc32c::crc32c(body) != crc {
            return Err(corrupted(pos, "checksum mismatch"));
        }
        let record = rmp_serde::from_slice(body)
            .map_err(|e| corrupted(pos, &format!("undecodable record: {e}")))?;
        records.push(record);
        pos = body_start + len;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::point_id::PointId;
    use crate::segment::point_log::PointLogWriter;

    #[test]
    fn records_round_trip_and_tail_after_valid_len_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("points.log");
        let mut payload = crate::segment::payload::Payload::new();
        payload.insert(
            "city".into(),
            serde_json::json!(["Berlin", 1, 2.5, null, {"a": true}]),
        );
        let records = vec![
            PointLogRecord::Insert {
                id: PointId::Num(7),
                offset: 0,
            },
            PointLogRecord::Insert {
                id: PointId::Uuid(uuid::Uuid::from_u128(9)),
                offset: 1,
            },
            PointLogRecord::Payload {
                offset: 0,
                payload,
                version: 3,
            },
            PointLogRecord::Vectors {
                offset: 1,
                present: vec!["".into(), "image".into()],
                version: 4,
            },
            PointLogRecord::Delete { offset: 0 },
        ];
        let mut w = PointLogWriter::open(&path, 0).unwrap();
        for r in &records {
            w.append(r).unwrap();
        }
        let len = w.sync().unwrap();
        w.append(&PointLogRecord::Delete { offset: 1 }).unwrap();
        w.sync().unwrap();
        drop(w);
        assert_eq!(read_log(&path, len).unwrap(), records);
        // Reopening at `len` drops the unflushed tail for good.
        let w = PointLogWriter::open(&path, len).unwrap();
        drop(w);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    }

    #[test]
    fn damage_inside_the_flushed_part_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("points.log");
        let mut w = PointLogWriter::open(&path, 0).unwrap();
        w.append(&PointLogRecord::Delete { offset: 3 }).unwrap();
        let len = w.sync().unwrap();
        drop(w);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        let err = read_log(&path, len).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}
