//! Unit tests of [`Wal`]: round trips, rotation, truncation, recovery from
//! torn and damaged files, concurrency and group commit.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, Result};

use super::format::{segment_file_name, FILE_HEADER_LEN, RECORD_HEADER_LEN};
use super::*;

fn options(segment_capacity_bytes: u64) -> WalOptions {
    WalOptions {
        segment_capacity_bytes,
        ..WalOptions::default()
    }
}

fn read_all(wal: &Wal, from_seq: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    Ok(wal.read_from(from_seq)?.collect::<Result<Vec<_>, _>>()?)
}

/// Segment files in `dir`, oldest first.
fn segment_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "wal") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn payload(seq: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seq as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

fn flip_bit(path: &Path, offset: u64) -> Result<()> {
    let mut bytes = fs::read(path)?;
    let index = usize::try_from(offset)?;
    bytes[index] ^= 0x10;
    fs::write(path, bytes)?;
    Ok(())
}

/// Appends records `payload(seq, len_of(seq))` until `last` and returns
/// what was appended.
fn fill(wal: &Wal, count: usize, len_of: impl Fn(u64) -> usize) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut written = Vec::new();
    for _ in 0..count {
        let next = wal.last_seq().map_or(1, |last| last + 1);
        let record = payload(next, len_of(next));
        let seq = wal.append(&record)?;
        assert_eq!(seq, next);
        written.push((seq, record));
    }
    Ok(written)
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
    assert_send_sync::<WalError>();
    fn assert_send<T: Send>() {}
    assert_send::<RecordIter>();
}

#[test]
fn append_then_read_round_trips() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!((wal.first_seq(), wal.last_seq()), (None, None));
    assert_eq!(read_all(&wal, 0)?, vec![]);

    let records: Vec<Vec<u8>> = vec![
        b"one".to_vec(),
        Vec::new(),
        payload(3, 100_000),
        b"four".to_vec(),
    ];
    for (i, record) in records.iter().enumerate() {
        assert_eq!(wal.append(record)?, i as u64 + 1);
    }
    let expected: Vec<(u64, Vec<u8>)> = (1..).zip(records).collect();
    assert_eq!(read_all(&wal, 0)?, expected);
    assert_eq!(read_all(&wal, 1)?, expected);
    assert_eq!(read_all(&wal, 3)?, expected[2..]);
    assert_eq!(read_all(&wal, 5)?, vec![]);
    assert_eq!((wal.first_seq(), wal.last_seq()), (Some(1), Some(4)));
    Ok(())
}

#[test]
fn reopen_continues_the_sequence() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut expected = {
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        fill(&wal, 10, |_| 20)?
    };
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!((wal.first_seq(), wal.last_seq()), (Some(1), Some(10)));
    assert_eq!(read_all(&wal, 1)?, expected);
    assert_eq!(wal.append(b"eleven")?, 11);
    expected.push((11, b"eleven".to_vec()));
    drop(wal);
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!(read_all(&wal, 1)?, expected);
    Ok(())
}

#[test]
fn rotation_spreads_records_over_many_files() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let capacity = 256;
    let wal = Wal::open(dir.path(), options(capacity))?;
    let mut expected = fill(&wal, 200, |seq| (seq as usize * 7) % 90)?;
    // A record larger than the capacity gets a file of its own.
    let big = payload(201, 1000);
    assert_eq!(wal.append(&big)?, 201);
    expected.push((201, big));
    expected.extend(fill(&wal, 3, |_| 10)?);

    let files = segment_files(dir.path())?;
    assert!(files.len() > 50, "only {} segment files", files.len());
    for file in &files {
        let len = fs::metadata(file)?.len();
        let records = read_segment_record_count(file)?;
        assert!(records >= 1, "{} holds no record", file.display());
        assert!(
            len <= capacity || records == 1,
            "{} is {len} bytes with {records} records",
            file.display()
        );
    }
    let big_file = dir.path().join(segment_file_name(201));
    assert_eq!(
        fs::metadata(&big_file)?.len(),
        FILE_HEADER_LEN + RECORD_HEADER_LEN + 1000
    );

    assert_eq!(read_all(&wal, 0)?, expected);
    for from in [1, 2, 57, 200, 201, 202, 204, 205] {
        let tail: Vec<_> = expected
            .iter()
            .filter(|(seq, _)| *seq >= from)
            .cloned()
            .collect();
        assert_eq!(read_all(&wal, from)?, tail, "read_from({from})");
    }
    drop(wal);
    let wal = Wal::open(dir.path(), options(capacity))?;
    assert_eq!(read_all(&wal, 0)?, expected);
    assert_eq!(wal.append(b"x")?, 205);
    Ok(())
}

/// Number of records in a segment file, by walking the length fields.
fn read_segment_record_count(path: &Path) -> Result<u64> {
    let bytes = fs::read(path)?;
    let mut offset = FILE_HEADER_LEN as usize;
    let mut count = 0;
    while offset < bytes.len() {
        let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into()?) as usize;
        offset += RECORD_HEADER_LEN as usize + len;
        count += 1;
    }
    assert_eq!(offset, bytes.len());
    Ok(count)
}

#[test]
fn truncate_before_deletes_whole_old_segments_only() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // Header 24 + 4 records of 16 + 10 bytes = 128: four records per file.
    let capacity = FILE_HEADER_LEN + 4 * (RECORD_HEADER_LEN + 10);
    let wal = Wal::open(dir.path(), options(capacity))?;
    let expected = fill(&wal, 22, |_| 10)?;
    let names = |dir: &Path| -> Result<Vec<String>> {
        Ok(segment_files(dir)?
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect())
    };
    // Files start at 1, 5, 9, 13, 17, 21.
    assert_eq!(names(dir.path())?.len(), 6);

    wal.truncate_before(1)?;
    wal.truncate_before(4)?;
    assert_eq!(wal.first_seq(), Some(1), "1..=4 still holds record 4");
    wal.truncate_before(5)?;
    assert_eq!(wal.first_seq(), Some(5));
    wal.truncate_before(11)?;
    assert_eq!(wal.first_seq(), Some(9));
    assert_eq!(
        names(dir.path())?,
        [9, 13, 17, 21].map(segment_file_name).to_vec()
    );
    assert_eq!(read_all(&wal, 0)?, expected[8..]);
    assert_eq!(read_all(&wal, 12)?, expected[11..]);
    assert_eq!(wal.last_seq(), Some(22));

    // Everything below 1000 is unneeded, but the active segment stays.
    wal.truncate_before(1000)?;
    assert_eq!(names(dir.path())?, vec![segment_file_name(21)]);
    assert_eq!((wal.first_seq(), wal.last_seq()), (Some(21), Some(22)));
    assert_eq!(wal.append(b"after")?, 23);
    drop(wal);

    let wal = Wal::open(dir.path(), options(capacity))?;
    assert_eq!((wal.first_seq(), wal.last_seq()), (Some(21), Some(23)));
    let mut tail = expected[20..].to_vec();
    tail.push((23, b"after".to_vec()));
    assert_eq!(read_all(&wal, 0)?, tail);
    Ok(())
}

#[test]
fn an_empty_log_remembers_the_next_sequence_number() -> Result<()> {
    let dir = tempfile::tempdir()?;
    {
        // Capacity 0: every record in its own file.
        let wal = Wal::open(dir.path(), options(0))?;
        fill(&wal, 5, |_| 8)?;
    }
    // Damage the only record of the active segment: reopening drops it and
    // leaves the active segment empty.
    flip_bit(&dir.path().join(segment_file_name(5)), FILE_HEADER_LEN + 20)?;
    let wal = Wal::open(dir.path(), options(0))?;
    assert_eq!((wal.first_seq(), wal.last_seq()), (Some(1), Some(4)));
    wal.truncate_before(u64::MAX)?;
    assert_eq!((wal.first_seq(), wal.last_seq()), (None, None));
    assert_eq!(read_all(&wal, 0)?, vec![]);
    drop(wal);

    let wal = Wal::open(dir.path(), options(0))?;
    assert_eq!((wal.first_seq(), wal.last_seq()), (None, None));
    assert_eq!(wal.append(b"five again")?, 5);
    assert_eq!(read_all(&wal, 0)?, vec![(5, b"five again".to_vec())]);
    Ok(())
}

#[test]
fn a_record_cut_mid_write_is_dropped_on_reopen() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let expected = {
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        fill(&wal, 5, |_| 100)?
    };
    let path = dir.path().join(segment_file_name(1));
    let full_len = fs::metadata(&path)?.len();
    for cut in [1, RECORD_HEADER_LEN - 3, RECORD_HEADER_LEN + 50] {
        let file = OpenOptions::new().write(true).open(&path)?;
        // Cut record 5 to `cut` bytes (rebuilding it each round).
        file.set_len(full_len - (RECORD_HEADER_LEN + 100) + cut)?;
        drop(file);
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        assert_eq!(read_all(&wal, 0)?, expected[..4]);
        assert_eq!(
            fs::metadata(&path)?.len(),
            full_len - (RECORD_HEADER_LEN + 100),
            "torn tail is cut off the file"
        );
        // The torn record was never acknowledged; its number is reused.
        assert_eq!(wal.append(&expected[4].1)?, 5);
        drop(wal);
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        assert_eq!(read_all(&wal, 0)?, expected);
    }
    Ok(())
}

#[test]
fn garbage_after_the_last_record_is_cut_on_reopen() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut expected = {
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        fill(&wal, 3, |_| 40)?
    };
    let path = dir.path().join(segment_file_name(1));
    let clean_len = fs::metadata(&path)?.len();
    for garbage in [
        vec![0u8; 4096],
        vec![0xAB; 7],
        b"not a record at all, just text".to_vec(),
    ] {
        OpenOptions::new()
            .append(true)
            .open(&path)?
            .write_all(&garbage)?;
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        assert_eq!(read_all(&wal, 0)?, expected);
        let seq = wal.append(b"more")?;
        expected.push((seq, b"more".to_vec()));
        assert_eq!(read_all(&wal, 0)?, expected);
    }
    assert!(fs::metadata(&path)?.len() > clean_len);
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!(read_all(&wal, 0)?, expected);
    assert_eq!(wal.last_seq(), Some(6));
    Ok(())
}

#[test]
fn a_flipped_bit_in_the_newest_segment_drops_that_record_and_the_rest() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let expected = {
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        fill(&wal, 6, |_| 30)?
    };
    let path = dir.path().join(segment_file_name(1));
    let record_len = RECORD_HEADER_LEN + 30;
    // A bit in the payload of record 5 (of 6).
    flip_bit(
        &path,
        FILE_HEADER_LEN + 4 * record_len + RECORD_HEADER_LEN + 3,
    )?;
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!(read_all(&wal, 0)?, expected[..4]);
    assert_eq!(wal.last_seq(), Some(4));
    assert_eq!(wal.append(b"new five")?, 5);
    drop(wal);

    // A bit in the sequence number of the last record.
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!(wal.append(b"six")?, 6);
    drop(wal);
    flip_bit(
        &path,
        FILE_HEADER_LEN + 4 * record_len + (RECORD_HEADER_LEN + 8) + 9,
    )?;
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!(wal.last_seq(), Some(5));
    Ok(())
}

#[test]
fn a_flipped_bit_in_an_older_segment_is_corruption() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let capacity = FILE_HEADER_LEN + 3 * (RECORD_HEADER_LEN + 10);
    {
        let wal = Wal::open(dir.path(), options(capacity))?;
        fill(&wal, 9, |_| 10)?;
    }
    let path = dir.path().join(segment_file_name(4));
    let offset = FILE_HEADER_LEN + (RECORD_HEADER_LEN + 10);
    flip_bit(&path, offset + RECORD_HEADER_LEN + 2)?;
    match Wal::open(dir.path(), options(capacity)) {
        Err(WalError::Corrupted {
            path: bad_path,
            offset: bad_offset,
            ..
        }) => {
            assert_eq!(bad_path, path);
            assert_eq!(bad_offset, offset);
        }
        other => return Err(anyhow!("expected Corrupted, got {other:?}")),
    }
    // Nothing was cut: the damage is still there for an operator to see.
    assert_eq!(fs::metadata(&path)?.len(), capacity);
    Ok(())
}

#[test]
fn a_missing_middle_segment_is_corruption() -> Result<()> {
    let dir = tempfile::tempdir()?;
    {
        let wal = Wal::open(dir.path(), options(0))?;
        fill(&wal, 4, |_| 1)?;
    }
    fs::remove_file(dir.path().join(segment_file_name(2)))?;
    let error = Wal::open(dir.path(), options(0)).err();
    assert!(
        matches!(&error, Some(WalError::Corrupted { path, offset: 0, .. }) if *path == dir.path().join(segment_file_name(3))),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn a_torn_segment_creation_is_repaired_but_a_damaged_header_is_not() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let expected = {
        let wal = Wal::open(dir.path(), WalOptions::default())?;
        fill(&wal, 3, |_| 5)?
    };
    // A crash while creating segment 4 left half a header.
    let torn = dir.path().join(segment_file_name(4));
    fs::write(&torn, b"VFGWAL")?;
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!(read_all(&wal, 0)?, expected);
    assert_eq!(fs::metadata(&torn)?.len(), FILE_HEADER_LEN);
    assert_eq!(wal.append(b"four")?, 4);
    drop(wal);
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    assert_eq!(wal.last_seq(), Some(4));
    drop(wal);

    // Records behind a damaged header are not a torn write.
    flip_bit(&torn, 2)?;
    let error = Wal::open(dir.path(), WalOptions::default()).err();
    assert!(
        matches!(&error, Some(WalError::Corrupted { path, offset: 0, .. }) if *path == torn),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn an_unknown_format_version_is_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    drop(Wal::open(dir.path(), WalOptions::default())?);
    let path = dir.path().join(segment_file_name(1));
    let mut bytes = fs::read(&path)?;
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&bytes[0..12]), &bytes[16..24]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    fs::write(&path, bytes)?;
    let error = Wal::open(dir.path(), WalOptions::default()).err();
    assert!(
        matches!(
            &error,
            Some(WalError::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            })
        ),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn open_creates_the_directory_and_ignores_foreign_files() -> Result<()> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("collections/c1/wal");
    let wal = Wal::open(&dir, WalOptions::default())?;
    assert_eq!(wal.append(b"a")?, 1);
    drop(wal);
    fs::write(dir.join("README"), b"hello")?;
    fs::write(dir.join("00000000000000000099.wal.tmp"), b"x")?;
    let wal = Wal::open(&dir, WalOptions::default())?;
    assert_eq!(read_all(&wal, 0)?, vec![(1, b"a".to_vec())]);
    Ok(())
}

#[test]
fn a_record_over_the_limit_is_refused_and_nothing_is_written() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    wal.append(b"before")?;
    // Zeroed allocations are lazily mapped: this does not touch 1 GiB.
    let too_large = vec![0u8; MAX_RECORD_LEN + 1];
    let error = wal.append(&too_large).err();
    assert!(
        matches!(&error, Some(e @ WalError::RecordTooLarge { len, .. }) if *len == MAX_RECORD_LEN + 1 && e.is_user_fault()),
        "{error:?}"
    );
    drop(too_large);
    assert_eq!(wal.append(b"after")?, 2);
    assert_eq!(
        read_all(&wal, 0)?,
        vec![(1, b"before".to_vec()), (2, b"after".to_vec())]
    );
    Ok(())
}

#[test]
fn concurrent_appends_get_unique_contiguous_sequence_numbers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Arc::new(Wal::open(dir.path(), options(4096))?);
    let threads = 4;
    let per_thread = 250;
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let wal = Arc::clone(&wal);
            thread::spawn(move || -> Result<Vec<(u64, Vec<u8>)>> {
                let mut mine = Vec::new();
                for i in 0..per_thread {
                    let record = format!("thread {thread} record {i}").into_bytes();
                    let seq = wal.append(&record)?;
                    if i % 50 == 0 {
                        wal.sync(seq)?;
                    }
                    mine.push((seq, record));
                }
                Ok(mine)
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        let mine = handle.join().map_err(|_| anyhow!("appender panicked"))??;
        assert!(
            mine.windows(2).all(|w| w[0].0 < w[1].0),
            "seqs grow per thread"
        );
        all.extend(mine);
    }
    all.sort();
    let seqs: Vec<u64> = all.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=(threads * per_thread) as u64).collect::<Vec<_>>()
    );
    assert_eq!(read_all(&wal, 0)?, all);
    drop(wal);
    let wal = Wal::open(dir.path(), options(4096))?;
    assert_eq!(read_all(&wal, 0)?, all);
    Ok(())
}

#[test]
fn sync_returns_at_once_when_already_durable() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    wal.sync(0)?;
    wal.sync(100)?;
    assert_eq!(wal.sync_fsyncs(), 0, "nothing appended, nothing to fsync");
    let seq = wal.append(b"a")?;
    wal.sync(seq)?;
    assert_eq!(wal.sync_fsyncs(), 1);
    wal.sync(seq)?;
    wal.sync(seq - 1)?;
    assert_eq!(wal.sync_fsyncs(), 1);
    // Beyond the last record: syncs what there is.
    let seq = wal.append(b"b")?;
    wal.sync(u64::MAX)?;
    wal.sync(seq)?;
    assert_eq!(wal.sync_fsyncs(), 2);
    drop(wal);
    // Open fsyncs what it found.
    let wal = Wal::open(dir.path(), WalOptions::default())?;
    wal.sync(2)?;
    assert_eq!(wal.sync_fsyncs(), 0);
    Ok(())
}

#[test]
fn rotation_makes_older_records_durable_without_a_sync() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), options(0))?;
    wal.append(b"1")?;
    wal.append(b"2")?; // rotates, fsyncing the segment of record 1
    wal.sync(1)?;
    assert_eq!(wal.sync_fsyncs(), 0);
    wal.sync(2)?;
    assert_eq!(wal.sync_fsyncs(), 1);
    Ok(())
}

#[test]
fn concurrent_syncs_share_one_fsync() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Arc::new(Wal::open(dir.path(), WalOptions::default())?);
    let threads = 8;
    let appended = Arc::new(Barrier::new(threads + 1));
    // Hold the sync lock so every syncer queues behind it.
    let held = wal.hold_sync_lock();
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let wal = Arc::clone(&wal);
            let appended = Arc::clone(&appended);
            thread::spawn(move || -> Result<u64> {
                let seq = wal.append(format!("record {i}").as_bytes())?;
                appended.wait();
                wal.sync(seq)?;
                Ok(seq)
            })
        })
        .collect();
    appended.wait();
    // Let the threads reach the lock; the result does not depend on it.
    thread::sleep(Duration::from_millis(20));
    drop(held);
    for handle in handles {
        handle.join().map_err(|_| anyhow!("syncer panicked"))??;
    }
    assert_eq!(wal.sync_fsyncs(), 1, "the first syncer covered all eight");
    Ok(())
}

#[test]
fn appends_continue_while_a_sync_is_queued() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Arc::new(Wal::open(dir.path(), WalOptions::default())?);
    let first = wal.append(b"first")?;
    let held = wal.hold_sync_lock();
    let syncer = {
        let wal = Arc::clone(&wal);
        thread::spawn(move || wal.sync(first))
    };
    // The append lock is free while a sync waits or runs.
    for _ in 0..10 {
        wal.append(b"more")?;
    }
    drop(held);
    syncer.join().map_err(|_| anyhow!("syncer panicked"))??;
    Ok(())
}

#[test]
fn a_reader_sees_the_records_present_when_it_was_created() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), options(100))?;
    let expected = fill(&wal, 10, |_| 20)?;
    let reader = wal.read_from(0)?;
    fill(&wal, 10, |_| 20)?;
    assert_eq!(reader.collect::<Result<Vec<_>, _>>()?, expected);
    Ok(())
}

#[test]
fn errors_say_whose_fault_they_are() {
    let path = PathBuf::from("/wal");
    assert!(WalError::RecordTooLarge {
        dir: path.clone(),
        len: 2,
        limit: 1
    }
    .is_user_fault());
    assert!(!WalError::Corrupted {
        path: path.clone(),
        offset: 0,
        reason: "test"
    }
    .is_user_fault());
    assert!(!WalError::Poisoned { dir: path }.is_user_fault());
}
