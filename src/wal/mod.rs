//! The write-ahead log: every update is appended here, as an opaque byte
//! record with a sequence number, before it is applied to segments, and
//! replayed from here after a restart.
//!
//! # Durability contract
//!
//! * [`Wal::append`] writes the record with `write(2)` before returning: it
//!   survives a crash of the process (SIGKILL, panic, OOM kill), not of the
//!   machine.
//! * [`Wal::sync`] fsyncs: once it returns for `up_to`, every record with a
//!   sequence number `<= up_to` survives a power loss. Concurrent callers
//!   share one fsync (group commit).
//! * [`Wal::open`] verifies every record, cuts a torn tail off the newest
//!   segment and refuses anything a crash cannot explain.
//! * Sequence numbers start at 1 and grow by one per append, across
//!   reopens, and are never reused, even when [`Wal::truncate_before`] has
//!   deleted every older segment. The exception is a record lost in a
//!   machine crash before it was synced: nobody was told it is durable, and
//!   its number is handed out again.
//!
//! # On-disk format
//!
//! A WAL is a directory of segment files named by the sequence number of
//! their first record (`00000000000000000001.wal`, 20 digits, so names sort
//! in order). Each file is a 24-byte header (8 magic bytes `VFGWAL\r\n`,
//! u32 format version 1, CRC-32C of the header, u64 first sequence number)
//! followed by records back to back without padding:
//! `[u32 LE length][u32 LE CRC-32C over (u64 LE seq, payload)][u64 LE seq][payload]`.
//! Records are at most [`MAX_RECORD_LEN`] bytes. The active (newest)
//! segment takes appends until the next record would push it past
//! [`WalOptions::segment_capacity_bytes`]; then it is fsynced and a new
//! segment is created (file and directory fsynced). The details are in the
//! docs of the `format` module.
//!
//! # Module layout
//!
//! `format` (pure encoding) → `writer` (the active segment) and `reader`
//! (validating record reader, replay iterator) → `recovery` (open-time scan)
//! → `log` ([`Wal`], the locks and the group commit).

#![deny(unsafe_code)]

mod error;
mod format;
mod log;
mod options;
mod reader;
mod recovery;
mod writer;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub use error::WalError;
pub use format::MAX_RECORD_LEN;
pub use log::Wal;
pub use options::WalOptions;
pub use reader::RecordIter;
