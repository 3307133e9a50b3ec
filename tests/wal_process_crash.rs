//! Crash test: a child process appends and syncs WAL records and reports
//! each acknowledged sequence number on stdout; the parent SIGKILLs it at a
//! random moment, reopens the WAL and checks that every acknowledged record
//! is there, intact. Several rounds run on the same directory, so each
//! round also recovers from the previous kill.
//!
//! The child is this test binary itself, re-run with a filter selecting this
//! test and an environment variable naming the WAL directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, ensure, Context, Result};
use vecforge::wal::{Wal, WalOptions};

const TEST_NAME: &str = "acknowledged_records_survive_sigkill";
const CHILD_DIR_ENV: &str = "VECFORGE_WAL_CRASH_CHILD_DIR";
const ROUNDS: usize = 5;
const CHILD_THREADS: u64 = 2;

fn options() -> WalOptions {
    WalOptions {
        // Small segments, so kills also land in rotations.
        segment_capacity_bytes: 8 * 1024,
        segments_ahead: 0,
    }
}

/// The record a child thread writes as its `counter`-th append: the same
/// bytes in the child and, for checking, in the parent.
fn record(thread: u64, counter: u64) -> Vec<u8> {
    let len = ((counter * 389 + thread * 97) % 2500) as usize;
    let stamp = format!("thread {thread} counter {counter};");
    stamp.bytes().cycle().take(len.max(stamp.len())).collect()
}

#[test]
fn acknowledged_records_survive_sigkill() -> Result<()> {
    if let Some(dir) = std::env::var_os(CHILD_DIR_ENV) {
        return child(Path::new(&dir));
    }
    let seed = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64 | 1;
    parent(seed).with_context(|| format!("crash test with seed {seed}"))
}

/// Appends from several threads until killed. Each line `ACK seq thread
/// counter .` is printed after `append` and `sync` returned; the final `.`
/// marks a complete line.
fn child(dir: &Path) -> Result<()> {
    let wal = Wal::open(dir, options())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..CHILD_THREADS)
            .map(|thread| {
                let wal = &wal;
                scope.spawn(move || -> Result<()> {
                    for counter in 0.. {
                        if Instant::now() > deadline {
                            bail!("child was not killed in time");
                        }
                        let seq = wal.append(&record(thread, counter))?;
                        wal.sync(seq)?;
                        // One write(2) per line: stdout is line-buffered.
                        writeln!(std::io::stdout().lock(), "ACK {seq} {thread} {counter} .")?;
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow!("child thread panicked"))??;
        }
        Ok(())
    })
}

fn parent(seed: u64) -> Result<()> {
    let mut rng = XorShift(seed);
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    // Every acknowledged record: seq → (thread, counter).
    let mut acked: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut truncated_below = 0;

    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("child stdout")?;
        let (lines_tx, lines_rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });

        // Kill at a random moment after the child's first acknowledgement
        // (libtest prints its own lines first).
        let mut lines = Vec::new();
        let wait_until = Instant::now() + Duration::from_secs(10);
        while lines
            .last()
            .is_none_or(|line: &String| parse_ack(line).is_none())
        {
            let timeout = wait_until.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(timeout) {
                Ok(line) => lines.push(line),
                Err(e) => {
                    child.kill()?;
                    child.wait()?;
                    bail!("round {round}: no acknowledgement from the child: {e}");
                }
            }
        }
        thread::sleep(Duration::from_millis(rng.below(150)));
        child.kill()?;
        let status = child.wait()?;
        reader
            .join()
            .map_err(|_| anyhow!("stdout reader panicked"))?;
        lines.extend(lines_rx.try_iter());
        ensure!(
            !status.success(),
            "round {round}: the child exited by itself"
        );

        let previous_max = acked.keys().next_back().copied().unwrap_or(0);
        let mut new_acks = 0;
        for line in &lines {
            let Some((seq, thread, counter)) = parse_ack(line) else {
                continue;
            };
            ensure!(
                seq > previous_max,
                "round {round}: seq {seq} acknowledged again after {previous_max}"
            );
            ensure!(
                acked.insert(seq, (thread, counter)).is_none(),
                "round {round}: seq {seq} acknowledged twice"
            );
            new_acks += 1;
        }
        ensure!(new_acks > 0, "round {round}: no acknowledgement parsed");

        let wal =
            Wal::open(dir.path(), options()).with_context(|| format!("round {round}: reopen"))?;
        let stored: BTreeMap<u64, Vec<u8>> = wal
            .read_from(0)?
            .collect::<Result<_, _>>()
            .with_context(|| format!("round {round}: read back"))?;
        let seqs: Vec<u64> = stored.keys().copied().collect();
        ensure!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "round {round}: stored sequence numbers are not contiguous"
        );
        for (&seq, &(thread, counter)) in acked.range(truncated_below..) {
            let found = stored
                .get(&seq)
                .with_context(|| format!("round {round}: acknowledged seq {seq} is missing"))?;
            ensure!(
                *found == record(thread, counter),
                "round {round}: acknowledged seq {seq} has the wrong payload"
            );
        }

        // Every other round, drop the older half, as a checkpoint would.
        if round % 2 == 1 {
            let (first, last) = (wal.first_seq().unwrap_or(0), wal.last_seq().unwrap_or(0));
            truncated_below = first + (last - first) / 2;
            wal.truncate_before(truncated_below)?;
        }
    }
    Ok(())
}

/// Parses `ACK seq thread counter .`.
fn parse_ack(line: &str) -> Option<(u64, u64, u64)> {
    let mut fields = line.split(' ');
    if fields.next()? != "ACK" {
        return None;
    }
    let seq = fields.next()?.parse().ok()?;
    let thread = fields.next()?.parse().ok()?;
    let counter = fields.next()?.parse().ok()?;
    (fields.next()? == "." && fields.next().is_none()).then_some((seq, thread, counter))
}

/// xorshift64: enough randomness for kill timing, no dependency.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}
