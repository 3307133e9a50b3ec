//! Point identifiers.
//!
//! Two id spaces are kept apart by type: [`PointId`] is what users send
//! (an unsigned 64-bit integer or a UUID), [`PointOffset`] is the dense
//! internal slot of a point inside one segment. Mixing them up is a bug the
//! compiler should catch, so neither converts into the other.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// A user-facing point id: an unsigned integer or a UUID.
///
/// Ordering follows Qdrant: every numeric id sorts before every UUID, numbers
/// by value and UUIDs by their 128-bit value. Scroll pages use this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointId {
    Num(u64),
    Uuid(Uuid),
}

impl Ord for PointId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PointId::Num(a), PointId::Num(b)) => a.cmp(b),
            (PointId::Uuid(a), PointId::Uuid(b)) => a.cmp(b),
            (PointId::Num(_), PointId::Uuid(_)) => Ordering::Less,
            (PointId::Uuid(_), PointId::Num(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for PointId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointId::Num(n) => write!(f, "{n}"),
            PointId::Uuid(u) => write!(f, "{}", u.hyphenated()),
        }
    }
}

/// Parses a path segment such as `GET /points/{id}`: digits are a number,
/// anything else must be a UUID in any of its textual forms.
impl FromStr for PointId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<u64>()
                .map(PointId::Num)
                .map_err(|_| format!("point id {s} is out of the unsigned 64-bit range"));
        }
        Uuid::parse_str(s)
            .map(PointId::Uuid)
            .map_err(|_| format!("point id {s:?} is neither an unsigned integer nor a UUID"))
    }
}

impl Serialize for PointId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PointId::Num(n) => serializer.serialize_u64(*n),
            PointId::Uuid(u) => serializer.collect_str(&u.hyphenated()),
        }
    }
}

impl<'de> Deserialize<'de> for PointId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = PointId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned integer or a UUID string")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PointId, E> {
                Ok(PointId::Num(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PointId, E> {
                u64::try_from(v).map(PointId::Num).map_err(|_| {
                    E::custom(format!(
                        "point id {v} is negative; ids are unsigned integers or UUIDs"
                    ))
                })
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<PointId, E> {
                u64::try_from(v).map(PointId::Num).map_err(|_| {
                    E::custom(format!("point id {v} is out of the unsigned 64-bit range"))
                })
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<PointId, E> {
                u64::try_from(v).map(PointId::Num).map_err(|_| {
                    E::custom(format!("point id {v} is out of the unsigned 64-bit range"))
                })
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PointId, E> {
                Err(E::custom(format!(
                    "point id {v} is not an unsigned integer or a UUID"
                )))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<PointId, E> {
                Uuid::parse_str(v)
                    .map(PointId::Uuid)
                    .map_err(|_| E::custom(format!("point id {v:?} is not a valid UUID")))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

/// The dense slot of a point inside one segment; never leaves the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PointOffset(pub u32);

impl PointOffset {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_before_uuids() {
        let u = PointId::Uuid(Uuid::nil());
        assert!(PointId::Num(u64::MAX) < u);
        assert!(PointId::Num(1) < PointId::Num(2));
    }

    #[test]
    fn uuid_forms_normalise_to_hyphenated_lowercase() {
        let forms = [
            "550E8400-E29B-41D4-A716-446655440000",
            "550e8400e29b41d4a716446655440000",
            "urn:uuid:550e8400-e29b-41d4-a716-446655440000",
            "{550e8400-e29b-41d4-a716-446655440000}",
        ];
        for form in forms {
            let id: PointId = serde_json::from_value(serde_json::json!(form)).unwrap();
            assert_eq!(
                serde_json::to_value(id).unwrap(),
                serde_json::json!("550e8400-e29b-41d4-a716-446655440000")
            );
        }
    }

    #[test]
    fn rejects_negative_fractional_and_garbage_ids() {
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!("abc"),
            serde_json::json!(true),
        ] {
            assert!(serde_json::from_value::<PointId>(bad).is_err());
        }
        assert!("18446744073709551616".parse::<PointId>().is_err());
        assert_eq!("42".parse::<PointId>(), Ok(PointId::Num(42)));
    }
}
