//! Datetime strings, as found in `range` bounds and in payload values.
//!
//! Qdrant documents RFC 3339 and also accepts a few common relaxations; we
//! accept the same set so that filters written for Qdrant keep working:
//!
//! * RFC 3339: `2023-02-08T10:49:00Z`, `2023-02-08T10:49:00.5+01:00`;
//! * a space instead of `T`, and offsets without a colon or without minutes:
//!   `2023-02-08 10:49:00+0100`, `2023-02-08T10:49:00+01`;
//! * no offset at all, read as UTC: `2023-02-08T10:49:00`,
//!   `2023-02-08 10:49:00.123`, `2023-02-08T10:49`, `2023-02-08 10:49`;
//! * a bare date, read as midnight UTC: `2023-02-08`.
//!
//! Parsed values are kept as UTC instants; comparisons are between instants.
//! Years are limited to 0000–9999 so that [`format`] always writes RFC 3339
//! that [`parse`] reads back to the same instant (the write-ahead log relies
//! on that round trip).

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc,
};

/// Formats with an explicit offset, tried after RFC 3339 proper. `%#z`
/// accepts `+01:00`, `+0100` and `+01`; `%.f` makes the fraction optional.
const WITH_OFFSET: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"];

/// Formats without an offset; the time is taken to be UTC.
const NAIVE: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// A one-line description of what [`parse`] accepts, for error messages.
pub(crate) const ACCEPTED: &str = "RFC 3339 such as 2023-02-08T10:49:00Z \
    (also accepted: 2023-02-08 10:49:00, 2023-02-08T10:49:00, 2023-02-08T10:49, 2023-02-08; \
    a missing offset means UTC)";

/// Parses a datetime in any of the accepted forms, or `None`.
pub(crate) fn parse(text: &str) -> Option<DateTime<Utc>> {
    let with_offset = DateTime::parse_from_rfc3339(text)
        .ok()
        // chrono's own relaxed form: a space separator, `Z` or an offset.
        .or_else(|| text.parse::<DateTime<FixedOffset>>().ok())
        .or_else(|| {
            WITH_OFFSET
                .iter()
                .find_map(|format| DateTime::parse_from_str(text, format).ok())
        });
    let instant = match with_offset {
        Some(datetime) => datetime.with_timezone(&Utc),
        None => NAIVE
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .map(|date| date.and_time(NaiveTime::MIN))
            })?
            .and_utc(),
    };
    (0..=9999).contains(&instant.year()).then_some(instant)
}

/// Writes an instant as RFC 3339 in UTC, with as many fractional digits as
/// it needs (none, 3, 6 or 9), so that [`parse`] gives the same instant back.
pub(crate) fn format(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test datetime is RFC 3339")
            .with_timezone(&Utc)
    }

    #[test]
    fn accepts_qdrant_forms() {
        let cases = [
            ("2023-02-08T10:49:00Z", "2023-02-08T10:49:00Z"),
            ("2023-02-08T10:49:00+01:00", "2023-02-08T09:49:00Z"),
            ("2023-02-08t10:49:00z", "2023-02-08T10:49:00Z"),
            ("2023-02-08T10:49:00.123456Z", "2023-02-08T10:49:00.123456Z"),
            ("2023-02-08 10:49:00Z", "2023-02-08T10:49:00Z"),
            ("2023-02-08 10:49:00+01:00", "2023-02-08T09:49:00Z"),
            ("2023-02-08T10:49:00+0100", "2023-02-08T09:49:00Z"),
            ("2023-02-08 10:49:00-0130", "2023-02-08T12:19:00Z"),
            ("2023-02-08T10:49:00+01", "2023-02-08T09:49:00Z"),
            ("2023-02-08T10:49:00", "2023-02-08T10:49:00Z"),
            ("2023-02-08 10:49:00", "2023-02-08T10:49:00Z"),
            ("2023-02-08 10:49:00.25", "2023-02-08T10:49:00.25Z"),
            ("2023-02-08T10:49", "2023-02-08T10:49:00Z"),
            ("2023-02-08 10:49", "2023-02-08T10:49:00Z"),
            ("2023-02-08", "2023-02-08T00:00:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), Some(utc(expected)), "{input}");
        }
    }

    #[test]
    fn rejects_other_strings() {
        for input in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-02-30",
            "2023-02-08T25:00:00Z",
            "08/02/2023",
            "2023-02-08T10",
            "1675853340",
            "2023-02-08T10:49:00 UTC+1",
        ] {
            assert_eq!(parse(input), None, "{input:?}");
        }
    }

    #[test]
    fn format_round_trips() {
        for input in [
            "2023-02-08T10:49:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2023-02-08T10:49:00.100Z",
            "1969-07-20T20:17:40.000001Z",
        ] {
            let instant = utc(input);
            let text = format(&instant);
            assert_eq!(parse(&text), Some(instant), "{input} -> {text}");
        }
        assert_eq!(
            format(&utc("2023-02-08T10:49:00+02:00")),
            "2023-02-08T08:49:00Z"
        );
    }
}
