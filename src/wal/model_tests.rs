//! Property test: random sequences of appends, syncs, truncations, torn
//! tails and reopens against a plain `Vec` model of the log.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use proptest::prelude::*;

use super::format::{parse_segment_file_name, FILE_HEADER_LEN, RECORD_HEADER_LEN};
use super::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        len: usize,
        fill: u8,
    },
    Sync,
    /// Truncate at a point in or just past the stored range, as a fraction.
    TruncateBefore {
        per_mille: u64,
    },
    Reopen,
    /// A crash that loses the last `bytes` bytes of the active segment (not
    /// its header), then a reopen.
    TearTail {
        bytes: u64,
    },
    ReadFrom {
        per_mille: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..80, any::<u8>()).prop_map(|(len, fill)| Op::Append { len, fill }),
        1 => Just(Op::Sync),
        2 => (0u64..1200).prop_map(|per_mille| Op::TruncateBefore { per_mille }),
        1 => Just(Op::Reopen),
        1 => (1u64..120).prop_map(|bytes| Op::TearTail { bytes }),
        2 => (0u64..1200).prop_map(|per_mille| Op::ReadFrom { per_mille }),
    ]
}

/// What the log must hold.
struct Model {
    /// The records stored, contiguous, oldest first.
    records: Vec<(u64, Vec<u8>)>,
    next_seq: u64,
}

impl Model {
    /// A sequence number `per_mille`/1000 of the way through the stored
    /// range, reaching a little past its end.
    fn point(&self, per_mille: u64) -> u64 {
        let first = self.records.first().map_or(self.next_seq, |(seq, _)| *seq);
        let span = self.next_seq - first + 1;
        first + span * per_mille / 1000
    }
}

fn segment_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(first_seq) = entry.file_name().to_str().and_then(parse_segment_file_name) {
            files.push((first_seq, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

fn read_all(wal: &Wal, from_seq: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    Ok(wal.read_from(from_seq)?.collect::<Result<Vec<_>, _>>()?)
}

fn run(capacity: u64, ops: &[Op]) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let options = WalOptions {
        segment_capacity_bytes: capacity,
        segments_ahead: 0,
    };
    let mut wal = Wal::open(dir.path(), options)?;
    let mut model = Model {
        records: Vec::new(),
        next_seq: 1,
    };
    for (step, op) in ops.iter().enumerate() {
        let context = || format!("step {step}: {op:?}");
        match *op {
            Op::Append { len, fill } => {
                let record = vec![fill; len];
                let seq = wal.append(&record).with_context(context)?;
                ensure!(seq == model.next_seq, "{}: got seq {seq}", context());
                model.records.push((seq, record));
                model.next_seq += 1;
            }
            Op::Sync => wal.sync(model.next_seq - 1).with_context(context)?,
            Op::TruncateBefore { per_mille } => {
                let point = model.point(per_mille);
                wal.truncate_before(point).with_context(context)?;
                let stored = read_all(&wal, 0).with_context(context)?;
                // Only whole old segments go: what is left is a suffix of
                // the model that keeps every record at or after `point`
                // and the newest record.
                let keep_from = model.records.len() - stored.len();
                ensure!(
                    model.records[keep_from..] == stored[..],
                    "{}: not a suffix",
                    context()
                );
                ensure!(
                    model.records[..keep_from]
                        .iter()
                        .all(|(seq, _)| *seq < point),
                    "{}: deleted a needed record",
                    context()
                );
                // And every segment that could go did go.
                let files = segment_files(dir.path())?;
                for pair in files.windows(2) {
                    ensure!(
                        pair[1].0 > point,
                        "{}: kept {} whose records are all below {point}",
                        context(),
                        pair[0].1.display()
                    );
                }
                model.records.drain(..keep_from);
            }
            Op::Reopen => {
                drop(wal);
                wal = Wal::open(dir.path(), options).with_context(context)?;
            }
            Op::TearTail { bytes } => {
                drop(wal);
                let files = segment_files(dir.path())?;
                let (active_first, active_path) = files.last().context("no segment")?.clone();
                let len = fs::metadata(&active_path)?.len();
                let new_len = len.saturating_sub(bytes).max(FILE_HEADER_LEN);
                OpenOptions::new()
                    .write(true)
                    .open(&active_path)?
                    .set_len(new_len)?;
                // Records of the active segment that still fit survive.
                let mut end = FILE_HEADER_LEN;
                let mut survivors = model
                    .records
                    .iter()
                    .take_while(|(seq, _)| *seq < active_first)
                    .count();
                for (seq, record) in &model.records[survivors..] {
                    ensure!(*seq >= active_first);
                    end += RECORD_HEADER_LEN + record.len() as u64;
                    if end > new_len {
                        break;
                    }
                    survivors += 1;
                }
                model.records.truncate(survivors);
                model.next_seq = model
                    .records
                    .last()
                    .map_or(active_first, |(seq, _)| seq + 1);
                wal = Wal::open(dir.path(), options).with_context(context)?;
            }
            Op::ReadFrom { per_mille } => {
                let from = model.point(per_mille);
                let expected: Vec<_> = model
                    .records
                    .iter()
                    .filter(|(seq, _)| *seq >= from)
                    .cloned()
                    .collect();
                ensure!(
                    read_all(&wal, from)? == expected,
                    "{}: read_from({from})",
                    context()
                );
            }
        }
        ensure!(
            read_all(&wal, 0)? == model.records,
            "{}: contents differ",
            context()
        );
        ensure!(
            wal.first_seq() == model.records.first().map(|(seq, _)| *seq),
            "{}: first_seq {:?}",
            context(),
            wal.first_seq()
        );
        ensure!(
            wal.last_seq() == model.records.last().map(|(seq, _)| *seq),
            "{}: last_seq {:?}",
            context(),
            wal.last_seq()
        );
    }
    // One last reopen must find exactly the same log.
    drop(wal);
    let wal = Wal::open(dir.path(), options)?;
    ensure!(
        read_all(&wal, 0)? == model.records,
        "after the final reopen"
    );
    ensure!(
        wal.append(b"end")? == model.next_seq,
        "sequence after the final reopen"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn wal_matches_a_vec_model(
        capacity in prop_oneof![Just(0u64), Just(64), Just(200), Just(1000), Just(1 << 20)],
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run(capacity, &ops).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    }
}
