//! Tests for the filter module as a whole: parsing and its error messages,
//! serde round trips (JSON and MessagePack), evaluation semantics, and
//! validation. Path and datetime tests live beside their code.

use serde_json::Value;

use super::{Filter, PointView};
use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;

mod errors;
mod parsing;
mod properties;
mod semantics;
mod validation;

/// A point for tests: an id, a payload and the names of its vectors.
#[derive(Debug)]
struct TestPoint {
    id: PointId,
    payload: Payload,
    vectors: Vec<&'static str>,
}

impl PointView for TestPoint {
    fn id(&self) -> PointId {
        self.id
    }

    fn payload(&self) -> &Payload {
        &self.payload
    }

    fn has_vector(&self, name: &str) -> bool {
        self.vectors.contains(&name)
    }
}

fn payload(value: Value) -> Payload {
    match value {
        Value::Object(map) => map,
        other => panic!("test payload must be an object, got {other}"),
    }
}

fn point(id: u64, payload_json: Value) -> TestPoint {
    TestPoint {
        id: PointId::Num(id),
        payload: payload(payload_json),
        vectors: Vec::new(),
    }
}

fn filter(json: Value) -> Filter {
    match serde_json::from_value(json.clone()) {
        Ok(filter) => filter,
        Err(e) => panic!("test filter {json} does not parse: {e}"),
    }
}

/// Whether the filter written as JSON accepts a point with this payload.
fn accepts(filter_json: Value, payload_json: Value) -> bool {
    filter(filter_json).check(&point(1, payload_json))
}

/// The ids of `points` that the filter accepts, in order.
fn matching(filter_json: Value, points: &[TestPoint]) -> Vec<u64> {
    let filter = filter(filter_json);
    points
        .iter()
        .filter(|p| filter.check(*p))
        .map(|p| match p.id {
            PointId::Num(n) => n,
            PointId::Uuid(_) => u64::MAX,
        })
        .collect()
}
