//! `with_payload` / `with_vector` selectors and the point shapes they shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ApiError;
use crate::collection::{config::VectorsConfig, StoredPoint};
use crate::segment::filter::{remove_at, JsonPath, PathStep};
use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;
use crate::segment::NamedVectors;

/// `with_payload`: a bool, a list of keys, or `{include}` / `{exclude}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WithPayload {
    Enable(bool),
    Fields(Vec<String>),
    Selector(PayloadSelector),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadSelector {
    Include(Vec<String>),
    Exclude(Vec<String>),
}

/// `with_vector` (also spelled `with_vectors`): a bool or a list of names.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WithVector {
    Enable(bool),
    Names(Vec<String>),
}

impl WithPayload {
    pub fn validate(&self) -> Result<(), ApiError> {
        let keys = match self {
            WithPayload::Enable(_) => return Ok(()),
            WithPayload::Fields(k) => k,
            WithPayload::Selector(PayloadSelector::Include(k) | PayloadSelector::Exclude(k)) => k,
        };
        for key in keys {
            key.parse::<JsonPath>()
                .map_err(|e| ApiError::validation("with_payload", e.to_string()))?;
        }
        Ok(())
    }

    /// The payload to return, or `None` when payloads are not wanted.
    pub fn select(&self, payload: &Payload) -> Option<Payload> {
        match self {
            WithPayload::Enable(false) => None,
            WithPayload::Enable(true) => Some(payload.clone()),
            WithPayload::Fields(keys) | WithPayload::Selector(PayloadSelector::Include(keys)) => {
                let mut out = Payload::new();
                for key in keys {
                    if let Ok(path) = key.parse::<JsonPath>() {
                        copy_path(payload, &path, &mut out);
                    }
                }
                Some(out)
            }
            WithPayload::Selector(PayloadSelector::Exclude(keys)) => {
                let mut out = payload.clone();
                for key in keys {
                    if let Ok(path) = key.parse::<JsonPath>() {
                        remove_at(&mut out, &path);
                    }
                }
                Some(out)
            }
        }
    }
}

/// Copies the value at `path` from `source` into `out` at the same place,
/// keeping the shape around it: `a.b` gives `{"a": {"b": ..}}`, and
/// `items[].sku` gives `{"items": [{"sku": ..}, ..]}`. Several paths into
/// the same object or array merge element by element.
fn copy_path(source: &Payload, path: &JsonPath, out: &mut Payload) {
    let Some(top) = source.get(path.head()) else {
        return;
    };
    let Some(projected) = project(top, path.steps()) else {
        return;
    };
    match out.get_mut(path.head()) {
        Some(existing) => merge_values(existing, projected),
        None => {
            out.insert(path.head().to_string(), projected);
        }
    }
}

/// The part of `value` reached by `steps`, in its original nesting.
fn project(value: &Value, steps: &[PathStep]) -> Option<Value> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(value.clone());
    };
    match step {
        PathStep::Key(key) => {
            let inner = project(value.as_object()?.get(key)?, rest)?;
            Some(Value::Object([(key.clone(), inner)].into_iter().collect()))
        }
        PathStep::EachElement => Some(Value::Array(
            value
                .as_array()?
                .iter()
                .filter_map(|v| project(v, rest))
                .collect(),
        )),
        PathStep::Index(i) => Some(Value::Array(vec![project(
            value.as_array()?.get(*i)?,
            rest,
        )?])),
    }
}

fn merge_values(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge_values(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (x, y) in a.iter_mut().zip(b) {
                merge_values(x, y);
            }
        }
        (slot, other) => *slot = other,
    }
}

impl WithVector {
    pub fn validate(&self, vectors: &VectorsConfig) -> Result<(), ApiError> {
        if let WithVector::Names(names) = self {
            for name in names {
                if vectors.get(name).is_none() {
                    return Err(ApiError::BadInput(format!(
                        "with_vector: Not existing vector name error: {name}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Vectors to return in Qdrant's output shape: a bare list for the
    /// unnamed vector, otherwise a map by name.
    pub fn select(&self, vectors: &NamedVectors, config: &VectorsConfig) -> Option<VectorOutput> {
        let wanted: NamedVectors = match self {
            WithVector::Enable(false) => return None,
            WithVector::Enable(true) => vectors.clone(),
            WithVector::Names(names) => vectors
                .iter()
                .filter(|(n, _)| names.contains(n))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        };
        match config {
            VectorsConfig::Single(_) => Some(VectorOutput::Single(
                wanted.get("").cloned().unwrap_or_default(),
            )),
            VectorsConfig::Multi(_) => Some(VectorOutput::Named(wanted)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VectorOutput {
    Single(Vec<f32>),
    Named(NamedVectors),
}

/// A point as returned by retrieve and scroll.
#[derive(Debug, Serialize)]
pub struct RecordResponse {
    pub id: PointId,
    pub payload: Option<Payload>,
    pub vector: Option<VectorOutput>,
}

impl RecordResponse {
    pub fn new(
        p: &StoredPoint,
        with_payload: &WithPayload,
        with_vector: &WithVector,
        config: &VectorsConfig,
    ) -> Self {
        RecordResponse {
            id: p.id,
            payload: with_payload.select(&p.payload),
            vector: with_vector.select(&p.vectors, config),
        }
    }
}
