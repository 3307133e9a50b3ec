//! Conversions between Qdrant's gRPC messages and the service layer's
//! request and response models.
//!
//! Requests become the same models that REST deserializes from JSON, so the
//! service validates them alike. Filters take a detour through their REST
//! JSON form, to be read by the one filter parser with its precise errors;
//! they are small. Vectors and payloads, the bulk of a request, are
//! converted directly.

use std::collections::{BTreeMap, HashMap};

use qdrant_client::qdrant as pb;
use serde_json::{json, Map, Value as Json};

use crate::api::service::points::{
    SelectorFields, UpdateResultResponse, VectorInput, VectorStruct,
};
use crate::api::service::query::{ScoredPointResponse, SearchParams};
use crate::api::service::selectors::{
    PayloadSelector, RecordResponse, VectorOutput, WithPayload, WithVector,
};
use crate::api::service::ApiError;
use crate::segment::filter::Filter;
use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;

// ------------------------------------------------------------ values

/// A protobuf `Value` as JSON. A `Value` without a kind is `null`; a
/// non-finite double (JSON has none) is `null` too, as in Qdrant.
pub fn json_of(value: pb::Value) -> Json {
    use pb::value::Kind;
    match value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::DoubleValue(d)) => {
            serde_json::Number::from_f64(d).map_or(Json::Null, Json::Number)
        }
        Some(Kind::IntegerValue(i)) => Json::from(i),
        Some(Kind::StringValue(s)) => Json::String(s),
        Some(Kind::BoolValue(b)) => Json::Bool(b),
        Some(Kind::StructValue(s)) => Json::Object(object_of(s.fields)),
        Some(Kind::ListValue(l)) => Json::Array(l.values.into_iter().map(json_of).collect()),
    }
}

fn object_of(fields: HashMap<String, pb::Value>) -> Map<String, Json> {
    fields.into_iter().map(|(k, v)| (k, json_of(v))).collect()
}

/// JSON as a protobuf `Value`. Integers that fit `i64` stay integers;
/// larger ones (and every float) become doubles.
pub fn value_of(json: &Json) -> pb::Value {
    use pb::value::Kind;
    let kind = match json {
        Json::Null => Kind::NullValue(pb::NullValue::NullValue as i32),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Kind::IntegerValue(i),
            None => Kind::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(pb::ListValue {
            values: items.iter().map(value_of).collect(),
        }),
        Json::Object(map) => Kind::StructValue(pb::Struct {
            fields: fields_of(map),
        }),
    };
    pb::Value { kind: Some(kind) }
}

fn fields_of(map: &Map<String, Json>) -> HashMap<String, pb::Value> {
    map.iter().map(|(k, v)| (k.clone(), value_of(v))).collect()
}

pub fn payload_of(fields: HashMap<String, pb::Value>) -> Payload {
    object_of(fields)
}

pub fn payload_fields(payload: Option<&Payload>) -> HashMap<String, pb::Value> {
    payload.map(fields_of).unwrap_or_default()
}

// ------------------------------------------------------------ ids

pub fn point_id(id: Option<pb::PointId>, at: &str) -> Result<PointId, ApiError> {
    use pb::point_id::PointIdOptions;
    match id.and_then(|id| id.point_id_options) {
        Some(PointIdOptions::Num(n)) => Ok(PointId::Num(n)),
        Some(PointIdOptions::Uuid(s)) => s
            .parse::<uuid::Uuid>()
            .map(PointId::Uuid)
            .map_err(|_| ApiError::BadInput(format!("{at}: {s:?} is not a UUID"))),
        None => Err(ApiError::BadInput(format!("{at}: a point id is required"))),
    }
}

pub fn point_ids(ids: Vec<pb::PointId>, at: &str) -> Result<Vec<PointId>, ApiError> {
    ids.into_iter()
        .enumerate()
        .map(|(i, id)| point_id(Some(id), &format!("{at}[{i}]")))
        .collect()
}

pub fn pb_point_id(id: PointId) -> pb::PointId {
    use pb::point_id::PointIdOptions;
    let options = match id {
        PointId::Num(n) => PointIdOptions::Num(n),
        PointId::Uuid(u) => PointIdOptions::Uuid(u.hyphenated().to_string()),
    };
    pb::PointId {
        point_id_options: Some(options),
    }
}

fn id_json(id: pb::PointId) -> Json {
    use pb::point_id::PointIdOptions;
    match id.point_id_options {
        Some(PointIdOptions::Num(n)) => Json::from(n),
        Some(PointIdOptions::Uuid(s)) => Json::String(s),
        None => Json::Null,
    }
}

// ------------------------------------------------------------ filters

/// Reads a filter through its REST JSON form; `at` names it in errors.
pub fn filter(filter: Option<pb::Filter>, at: &str) -> Result<Option<Filter>, ApiError> {
    let Some(filter) = filter else {
        return Ok(None);
    };
    let json = filter_json(filter, at).map_err(ApiError::BadInput)?;
    crate::segment::filter::parse_at(&json, at)
        .map(Some)
        .map_err(ApiError::BadInput)
}

/// The REST JSON form of a filter. Fails only on what JSON cannot say: a
/// condition message with no condition in it (in JSON, `{}` would read as
/// an empty filter, which matches every point).
fn filter_json(f: pb::Filter, at: &str) -> Result<Json, String> {
    let conditions = |list: Vec<pb::Condition>, at: &str| {
        list.into_iter()
            .enumerate()
            .map(|(i, c)| condition_json(c, &format!("{at}[{i}]")))
            .collect::<Result<Vec<_>, String>>()
    };
    let mut out = Map::new();
    for (name, list) in [
        ("must", f.must),
        ("should", f.should),
        ("must_not", f.must_not),
    ] {
        if !list.is_empty() {
            let here = format!("{at}.{name}");
            out.insert(name.into(), Json::Array(conditions(list, &here)?));
        }
    }
    if let Some(min) = f.min_should {
        let here = format!("{at}.min_should.conditions");
        out.insert(
            "min_should".into(),
            json!({
                "conditions": conditions(min.conditions, &here)?,
                "min_count": min.min_count,
            }),
        );
    }
    Ok(Json::Object(out))
}

fn condition_json(c: pb::Condition, at: &str) -> Result<Json, String> {
    use pb::condition::ConditionOneOf as C;
    Ok(match c.condition_one_of {
        None => {
            return Err(format!(
                "{at}: an empty condition; expected a field condition, filter, is_empty, \
                 is_null, has_id, has_vector, nested or slice"
            ))
        }
        Some(C::Field(f)) => field_json(f),
        Some(C::IsEmpty(c)) => json!({"is_empty": {"key": c.key}}),
        Some(C::IsNull(c)) => json!({"is_null": {"key": c.key}}),
        Some(C::HasId(c)) => {
            json!({"has_id": c.has_id.into_iter().map(id_json).collect::<Vec<_>>()})
        }
        Some(C::Filter(f)) => filter_json(f, at)?,
        Some(C::Nested(n)) => json!({"nested": {
            "key": n.key,
            "filter": match n.filter {
                Some(f) => filter_json(f, &format!("{at}.nested.filter"))?,
                None => Json::Null,
            },
        }}),
        Some(C::HasVector(c)) => json!({"has_vector": c.has_vector}),
        Some(C::Slice(s)) => json!({"slice": {"total": s.total, "index": s.index}}),
    })
}

fn field_json(f: pb::FieldCondition) -> Json {
    let mut out = Map::new();
    out.insert("key".into(), Json::String(f.key));
    if let Some(m) = f.r#match {
        out.insert("match".into(), match_json(m));
    }
    if let Some(r) = f.range {
        out.insert(
            "range".into(),
            bounds_json([("lt", r.lt), ("gt", r.gt), ("gte", r.gte), ("lte", r.lte)]),
        );
    }
    if let Some(r) = f.datetime_range {
        let ts = |t: Option<prost_types::Timestamp>| t.map(timestamp_json);
        out.insert(
            "range".into(),
            bounds_json([
                ("lt", ts(r.lt)),
                ("gt", ts(r.gt)),
                ("gte", ts(r.gte)),
                ("lte", ts(r.lte)),
            ]),
        );
    }
    if let Some(c) = f.values_count {
        out.insert(
            "values_count".into(),
            bounds_json([("lt", c.lt), ("gt", c.gt), ("gte", c.gte), ("lte", c.lte)]),
        );
    }
    if let Some(b) = f.is_empty {
        out.insert("is_empty".into(), Json::Bool(b));
    }
    if let Some(b) = f.is_null {
        out.insert("is_null".into(), Json::Bool(b));
    }
    // Geo conditions keep their names, so the parser can say they are not
    // supported; their coordinates do not matter for that.
    for (name, present) in [
        ("geo_bounding_box", f.geo_bounding_box.is_some()),
        ("geo_radius", f.geo_radius.is_some()),
        ("geo_polygon", f.geo_polygon.is_some()),
    ] {
        if present {
            out.insert(name.into(), json!({}));
        }
    }
    Json::Object(out)
}

fn bounds_json<T: Into<Json>>(bounds: [(&str, Option<T>); 4]) -> Json {
    Json::Object(
        bounds
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| (name.to_string(), v.into())))
            .collect(),
    )
}

/// RFC 3339 in UTC, as the datetime parser reads it.
fn timestamp_json(t: prost_types::Timestamp) -> Json {
    match chrono::DateTime::from_timestamp(t.seconds, t.nanos.clamp(0, 999_999_999) as u32) {
        Some(dt) => Json::String(dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        None => Json::String(format!("{}s{}ns", t.seconds, t.nanos)),
    }
}

fn match_json(m: pb::Match) -> Json {
    use pb::r#match::MatchValue as M;
    match m.match_value {
        None => json!({}),
        Some(M::Keyword(s)) => json!({"value": s}),
        Some(M::Integer(i)) => json!({"value": i}),
        Some(M::Boolean(b)) => json!({"value": b}),
        Some(M::Text(s)) => json!({"text": s}),
        Some(M::Keywords(k)) => json!({"any": k.strings}),
        Some(M::Integers(i)) => json!({"any": i.integers}),
        Some(M::ExceptIntegers(i)) => json!({"except": i.integers}),
        Some(M::ExceptKeywords(k)) => json!({"except": k.strings}),
        Some(M::Phrase(s)) => json!({"phrase": s}),
        Some(M::TextAny(s)) => json!({"text_any": s}),
        Some(M::Prefix(s)) => json!({"prefix": s}),
        Some(M::Substring(s)) => json!({"substring": s}),
    }
}

// ------------------------------------------------------------ selectors

pub fn points_selector(
    selector: Option<pb::PointsSelector>,
    at: &str,
) -> Result<SelectorFields, ApiError> {
    use pb::points_selector::PointsSelectorOneOf as S;
    match selector.and_then(|s| s.points_selector_one_of) {
        Some(S::Points(list)) => Ok(SelectorFields {
            points: Some(point_ids(list.ids, &format!("{at}.points"))?),
            filter: None,
        }),
        Some(S::Filter(f)) => Ok(SelectorFields {
            points: None,
            filter: filter(Some(f), &format!("{at}.filter"))?,
        }),
        // Empty: the service says what is missing.
        None => Ok(SelectorFields::default()),
    }
}

pub fn with_payload(selector: Option<pb::WithPayloadSelector>) -> Option<WithPayload> {
    use pb::with_payload_selector::SelectorOptions as S;
    Some(match selector?.selector_options? {
        S::Enable(b) => WithPayload::Enable(b),
        S::Include(i) => WithPayload::Selector(PayloadSelector::Include(i.fields)),
        S::Exclude(e) => WithPayload::Selector(PayloadSelector::Exclude(e.fields)),
    })
}

pub fn with_vector(selector: Option<pb::WithVectorsSelector>) -> Option<WithVector> {
    use pb::with_vectors_selector::SelectorOptions as S;
    Some(match selector?.selector_options? {
        S::Enable(b) => WithVector::Enable(b),
        S::Include(names) => WithVector::Names(names.names),
    })
}

pub fn search_params(params: Option<pb::SearchParams>) -> Option<SearchParams> {
    let p = params?;
    Some(SearchParams {
        hnsw_ef: p
            .hnsw_ef
            .map(|ef| usize::try_from(ef).unwrap_or(usize::MAX)),
        exact: p.exact,
        quantization: p.quantization.map(
            |q| json!({"ignore": q.ignore, "rescore": q.rescore, "oversampling": q.oversampling}),
        ),
        indexed_only: p.indexed_only,
        acorn: p
            .acorn
            .map(|a| json!({"enable": a.enable, "max_selectivity": a.max_selectivity})),
    })
}

// ------------------------------------------------------------ vectors

/// One vector of a request: the dense data (either the `dense` field or the
/// deprecated `data` one), or a description of a kind we do not store.
#[allow(deprecated)] // `data` is how clients before 1.16 send vectors
pub fn vector_input(v: pb::Vector) -> VectorInput {
    use pb::vector::Vector as V;
    match v.vector {
        Some(V::Dense(d)) => VectorInput::Dense(d.data),
        None if v.indices.is_none() && v.vectors_count.is_none() => VectorInput::Dense(v.data),
        None if v.indices.is_some() => VectorInput::Other(json!("sparse")),
        None => VectorInput::Other(json!("multi-dense")),
        Some(V::Sparse(_)) => VectorInput::Other(json!("sparse")),
        Some(V::MultiDense(_)) => VectorInput::Other(json!("multi-dense")),
        Some(V::Document(_) | V::Image(_) | V::Object(_)) => {
            VectorInput::Other(json!("inference input"))
        }
    }
}

pub fn vector_struct(vectors: Option<pb::Vectors>, at: &str) -> Result<VectorStruct, ApiError> {
    use pb::vectors::VectorsOptions as V;
    match vectors.and_then(|v| v.vectors_options) {
        Some(V::Vector(v)) => match vector_input(v) {
            VectorInput::Dense(data) => Ok(VectorStruct::Single(data)),
            VectorInput::Other(kind) => Err(ApiError::BadInput(format!(
                "{at}: only dense vectors are supported, got a {}",
                kind.as_str().unwrap_or("other")
            ))),
        },
        Some(V::Vectors(named)) => Ok(VectorStruct::Named(
            named
                .vectors
                .into_iter()
                .map(|(name, v)| (name, vector_input(v)))
                .collect::<BTreeMap<_, _>>(),
        )),
        None => Err(ApiError::BadInput(format!("{at}: vectors are required"))),
    }
}

fn dense_output(data: Vec<f32>) -> pb::VectorOutput {
    #[allow(deprecated)]
    pb::VectorOutput {
        data: Vec::new(),
        indices: None,
        vectors_count: None,
        vector: Some(pb::vector_output::Vector::Dense(pb::DenseVector { data })),
    }
}

pub fn vectors_output(v: Option<VectorOutput>) -> Option<pb::VectorsOutput> {
    use pb::vectors_output::VectorsOptions as V;
    let options = match v? {
        VectorOutput::Single(data) => V::Vector(dense_output(data)),
        VectorOutput::Named(map) => V::Vectors(pb::NamedVectorsOutput {
            vectors: map
                .into_iter()
                .map(|(name, data)| (name, dense_output(data)))
                .collect(),
        }),
    };
    Some(pb::VectorsOutput {
        vectors_options: Some(options),
    })
}

// ------------------------------------------------------------ responses

pub fn retrieved_point(r: RecordResponse) -> pb::RetrievedPoint {
    pb::RetrievedPoint {
        id: Some(pb_point_id(r.id)),
        payload: payload_fields(r.payload.as_ref()),
        vectors: vectors_output(r.vector),
        shard_key: None,
        order_value: None,
    }
}

pub fn scored_point(p: ScoredPointResponse) -> pb::ScoredPoint {
    pb::ScoredPoint {
        id: Some(pb_point_id(p.id)),
        payload: payload_fields(p.payload.as_ref()),
        score: p.score,
        version: p.version,
        vectors: vectors_output(p.vector),
        shard_key: None,
        order_value: None,
    }
}

pub fn update_result(r: UpdateResultResponse) -> pb::UpdateResult {
    let status = match r.status {
        "completed" => pb::UpdateStatus::Completed,
        _ => pb::UpdateStatus::Acknowledged,
    };
    pb::UpdateResult {
        operation_id: Some(r.operation_id),
        status: status as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_json() {
        let json = json!({
            "s": "x", "i": -3, "f": 1.5, "b": true, "n": null,
            "list": [1, "two", [3.0]], "obj": {"deep": {"k": [true]}},
        });
        let Json::Object(map) = &json else {
            unreachable!()
        };
        assert_eq!(Json::Object(payload_of(fields_of(map))), json);
        // u64 beyond i64 becomes a double, as protobuf has no u64 Value.
        assert_eq!(json_of(value_of(&json!(u64::MAX))), json!(u64::MAX as f64));
        assert_eq!(json_of(pb::Value { kind: None }), Json::Null);
    }

    #[test]
    fn filters_read_like_their_json_form() {
        let cond = |c| pb::Condition {
            condition_one_of: Some(c),
        };
        let field = pb::FieldCondition {
            key: "city".into(),
            r#match: Some(pb::Match {
                match_value: Some(pb::r#match::MatchValue::Keyword("paris".into())),
            }),
            ..Default::default()
        };
        let f = pb::Filter {
            must: vec![cond(pb::condition::ConditionOneOf::Field(field))],
            ..Default::default()
        };
        let got = filter(Some(f), "filter").expect("valid").expect("some");
        let expected: Filter =
            serde_json::from_value(json!({"must": [{"key": "city", "match": {"value": "paris"}}]}))
                .expect("valid");
        assert_eq!(format!("{got:?}"), format!("{expected:?}"));

        // A field condition without a predicate is refused with its place.
        let bare = pb::Filter {
            should: vec![cond(pb::condition::ConditionOneOf::Field(
                pb::FieldCondition {
                    key: "a".into(),
                    ..Default::default()
                },
            ))],
            ..Default::default()
        };
        let err = filter(Some(bare), "filter").expect_err("no predicate");
        assert!(err.to_string().contains("filter.should[0]"), "{err}");
    }

    #[test]
    fn datetime_bounds_become_rfc3339() {
        let t = prost_types::Timestamp {
            seconds: 1_709_251_200,
            nanos: 500_000_000,
        };
        assert_eq!(timestamp_json(t), json!("2024-03-01T00:00:00.500Z"));
    }

    #[test]
    #[allow(deprecated)]
    fn old_and_new_dense_fields_are_both_read() {
        let new = pb::Vector {
            vector: Some(pb::vector::Vector::Dense(pb::DenseVector {
                data: vec![1.0, 2.0],
            })),
            ..Default::default()
        };
        let old = pb::Vector {
            data: vec![1.0, 2.0],
            ..Default::default()
        };
        for v in [new, old] {
            assert!(matches!(vector_input(v), VectorInput::Dense(d) if d == [1.0, 2.0]));
        }
        let sparse = pb::Vector {
            vector: Some(pb::vector::Vector::Sparse(pb::SparseVector::default())),
            ..Default::default()
        };
        let err = vector_struct(
            Some(pb::Vectors {
                vectors_options: Some(pb::vectors::VectorsOptions::Vector(sparse)),
            }),
            "points[0].vectors",
        )
        .expect_err("sparse");
        assert!(err.to_string().contains("only dense"), "{err}");
    }
}
