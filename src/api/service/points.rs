//! Point operations: upsert, retrieve, delete, payloads, vectors, batch,
//! scroll and count.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::selectors::{RecordResponse, WithPayload, WithVector};
use super::{ApiError, Service};
use crate::collection::operations::{PointInsert, PointsSelector, UpdateOperation};
use crate::collection::{UpdateResult, UpdateStatus};
use crate::segment::filter::Filter;
use crate::segment::payload::Payload;
use crate::segment::point_id::PointId;
use crate::segment::NamedVectors;

/// A vector as sent: a dense list, or (rejected clearly) anything else.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum VectorInput {
    Dense(Vec<f32>),
    Other(serde_json::Value),
}

/// `vector` of a point: the unnamed dense vector or a map of named ones.
#[derive(Debug, Clone)]
pub enum VectorStruct {
    Single(Vec<f32>),
    Named(BTreeMap<String, VectorInput>),
}

impl<'de> Deserialize<'de> for VectorStruct {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListOrObject {
            expecting: "a list of numbers or an object of named vectors",
            list: VectorStruct::Single,
            object: VectorStruct::Named,
            shapes: PhantomData,
        })
    }
}

/// Reads a JSON array as `L` and an object as `O`, in one pass, into `T`
/// through `list` or `object`. An untagged enum would do the same job but
/// buffers the whole value first, to try each variant in turn: for a batch
/// of 1,000 × 384 numbers that is about 12 MB of intermediate values per
/// request, which the allocator then keeps.
struct ListOrObject<L, O, FL, FO> {
    expecting: &'static str,
    list: FL,
    object: FO,
    shapes: PhantomData<(L, O)>,
}

impl<'de, L, O, T, FL, FO> Visitor<'de> for ListOrObject<L, O, FL, FO>
where
    L: Deserialize<'de>,
    O: Deserialize<'de>,
    FL: FnOnce(L) -> T,
    FO: FnOnce(O) -> T,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        L::deserialize(SeqAccessDeserializer::new(seq)).map(self.list)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        O::deserialize(MapAccessDeserializer::new(map)).map(self.object)
    }
}

impl VectorStruct {
    fn into_named(self, field: &str) -> Result<NamedVectors, ApiError> {
        match self {
            VectorStruct::Single(v) => Ok(BTreeMap::from([(String::new(), v)])),
            VectorStruct::Named(map) => map
                .into_iter()
                .map(|(name, v)| match v {
                    VectorInput::Dense(v) => Ok((name, v)),
                    VectorInput::Other(_) => Err(ApiError::BadInput(format!(
                        "{field}.{name}: only dense vectors (lists of numbers) are supported"
                    ))),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PointStruct {
    pub id: PointId,
    #[serde(alias = "vectors")]
    pub vector: VectorStruct,
    #[serde(default)]
    pub payload: Option<Payload>,
}

#[derive(Debug)]
pub enum BatchVectors {
    Single(Vec<Vec<f32>>),
    Named(BTreeMap<String, Vec<Vec<f32>>>),
}

impl<'de> Deserialize<'de> for BatchVectors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ListOrObject {
            expecting: "a list of vectors or an object of named vector lists",
            list: BatchVectors::Single,
            object: BatchVectors::Named,
            shapes: PhantomData,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct Batch {
    pub ids: Vec<PointId>,
    pub vectors: BatchVectors,
    #[serde(default)]
    pub payloads: Option<Vec<Option<Payload>>>,
}

/// `{"points": [...]}` or `{"batch": {...}}`: exactly one of the two.
#[derive(Debug, Deserialize)]
pub struct UpsertRequest {
    #[serde(default)]
    pub points: Option<Vec<PointStruct>>,
    #[serde(default)]
    pub batch: Option<Batch>,
}

/// Points by id list or by filter (`{"points": [...]}` / `{"filter": ...}`).
#[derive(Debug, Default, Deserialize)]
pub struct SelectorFields {
    #[serde(default)]
    pub points: Option<Vec<PointId>>,
    #[serde(default)]
    pub filter: Option<Filter>,
}

impl SelectorFields {
    fn into_selector(self) -> Result<PointsSelector, ApiError> {
        match (self.points, self.filter) {
            (Some(ids), None) => Ok(PointsSelector::Ids(ids)),
            (None, Some(filter)) => Ok(PointsSelector::Filter(filter)),
            (Some(_), Some(_)) => Err(ApiError::BadInput(
                "give either points or filter, not both".into(),
            )),
            (None, None) => Err(ApiError::BadInput(
                "give points (a list of ids) or a filter".into(),
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SetPayloadRequest {
    pub payload: Payload,
    #[serde(flatten)]
    pub selector: SelectorFields,
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeletePayloadRequest {
    pub keys: Vec<String>,
    #[serde(flatten)]
    pub selector: SelectorFields,
}

#[derive(Debug, Deserialize)]
pub struct PointVectors {
    pub id: PointId,
    pub vector: VectorStruct,
}

#[derive(Debug, Deserialize)]
pub struct UpdateVectorsRequest {
    pub points: Vec<PointVectors>,
}

#[derive(Debug, Deserialize)]
pub struct DeleteVectorsRequest {
    #[serde(flatten)]
    pub selector: SelectorFields,
    pub vector: Vec<String>,
}

/// One entry of `POST /points/batch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchOperation {
    Upsert(UpsertRequest),
    Delete(SelectorFields),
    SetPayload(SetPayloadRequest),
    OverwritePayload(SetPayloadRequest),
    DeletePayload(DeletePayloadRequest),
    ClearPayload(SelectorFields),
    UpdateVectors(UpdateVectorsRequest),
    DeleteVectors(DeleteVectorsRequest),
}

#[derive(Debug, Deserialize)]
pub struct BatchRequest {
    pub operations: Vec<BatchOperation>,
}

#[derive(Debug, Deserialize)]
pub struct RetrieveRequest {
    pub ids: Vec<PointId>,
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ScrollRequest {
    #[serde(default)]
    pub offset: Option<PointId>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub with_payload: Option<WithPayload>,
    #[serde(default, alias = "with_vectors")]
    pub with_vector: Option<WithVector>,
    #[serde(default)]
    pub order_by: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CountRequest {
    #[serde(default)]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub exact: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct UpdateResultResponse {
    pub operation_id: u64,
    pub status: &'static str,
}

impl From<UpdateResult> for UpdateResultResponse {
    fn from(r: UpdateResult) -> Self {
        let status = match r.status {
            UpdateStatus::Acknowledged => "acknowledged",
            UpdateStatus::Completed => "completed",
        };
        UpdateResultResponse {
            operation_id: r.operation_id,
            status,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ScrollResponse {
    pub points: Vec<RecordResponse>,
    pub next_page_offset: Option<PointId>,
}

#[derive(Debug, Serialize)]
pub struct CountResponse {
    pub count: usize,
}

fn upsert_operation(req: UpsertRequest) -> Result<UpdateOperation, ApiError> {
    let points = match (req.points, req.batch) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadInput(
                "give either points or batch, not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::BadInput(
                "give points (a list) or batch (columns)".into(),
            ))
        }
        (Some(points), None) => points
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(PointInsert {
                    id: p.id,
                    vectors: p.vector.into_named(&format!("points[{i}].vector"))?,
                    payload: p.payload.unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?,
        (None, Some(batch)) => {
            let n = batch.ids.len();
            let mut per_point: Vec<NamedVectors> = vec![NamedVectors::new(); n];
            let columns = match batch.vectors {
                BatchVectors::Single(rows) => BTreeMap::from([(String::new(), rows)]),
                BatchVectors::Named(map) => map,
            };
            for (name, rows) in columns {
                if rows.len() != n {
                    return Err(ApiError::BadInput(format!(
                        "batch.vectors{}: {} vectors for {n} ids",
                        if name.is_empty() {
                            String::new()
                        } else {
                            format!(".{name}")
                        },
                        rows.len()
                    )));
                }
                for (slot, row) in per_point.iter_mut().zip(rows) {
                    slot.insert(name.clone(), row);
                }
            }
            let payloads = match batch.payloads {
                Some(p) if p.len() != n => {
                    return Err(ApiError::BadInput(format!(
                        "batch.payloads: {} payloads for {n} ids",
                        p.len()
                    )))
                }
                Some(p) => p,
                None => vec![None; n],
            };
            batch
                .ids
                .into_iter()
                .zip(per_point)
                .zip(payloads)
                .map(|((id, vectors), payload)| PointInsert {
                    id,
                    vectors,
                    payload: payload.unwrap_or_default(),
                })
                .collect()
        }
    };
    Ok(UpdateOperation::Upsert { points })
}

fn batch_operation(op: BatchOperation) -> Result<UpdateOperation, ApiError> {
    Ok(match op {
        BatchOperation::Upsert(req) => upsert_operation(req)?,
        BatchOperation::Delete(sel) => UpdateOperation::Delete {
            selector: sel.into_selector()?,
        },
        BatchOperation::SetPayload(req) => UpdateOperation::SetPayload {
            payload: req.payload,
            selector: req.selector.into_selector()?,
            key: req.key,
        },
        BatchOperation::OverwritePayload(req) => UpdateOperation::OverwritePayload {
            payload: req.payload,
            selector: req.selector.into_selector()?,
        },
        BatchOperation::DeletePayload(req) => UpdateOperation::DeletePayload {
            keys: req.keys,
            selector: req.selector.into_selector()?,
        },
        BatchOperation::ClearPayload(sel) => UpdateOperation::ClearPayload {
            selector: sel.into_selector()?,
        },
        BatchOperation::UpdateVectors(req) => UpdateOperation::UpdateVectors {
            points: req
                .points
                .into_iter()
                .enumerate()
                .map(|(i, p)| Ok((p.id, p.vector.into_named(&format!("points[{i}].vector"))?)))
                .collect::<Result<_, ApiError>>()?,
        },
        BatchOperation::DeleteVectors(req) => UpdateOperation::DeleteVectors {
            selector: req.selector.into_selector()?,
            names: req.vector,
        },
    })
}

/// The kinds of single update request `POST`ed to the points endpoints.
#[derive(Debug, Clone, Copy)]
pub enum UpdateKind {
    Upsert,
    Delete,
    SetPayload,
    OverwritePayload,
    DeletePayload,
    ClearPayload,
    UpdateVectors,
    DeleteVectors,
}

impl UpdateKind {
    /// Reads a JSON request body of this kind.
    pub fn parse(self, body: &[u8]) -> Result<BatchOperation, ApiError> {
        use super::parse_json;
        Ok(match self {
            UpdateKind::Upsert => BatchOperation::Upsert(parse_json(body)?),
            UpdateKind::Delete => BatchOperation::Delete(parse_json(body)?),
            UpdateKind::SetPayload => BatchOperation::SetPayload(parse_json(body)?),
            UpdateKind::OverwritePayload => BatchOperation::OverwritePayload(parse_json(body)?),
            UpdateKind::DeletePayload => BatchOperation::DeletePayload(parse_json(body)?),
            UpdateKind::ClearPayload => BatchOperation::ClearPayload(parse_json(body)?),
            UpdateKind::UpdateVectors => BatchOperation::UpdateVectors(parse_json(body)?),
            UpdateKind::DeleteVectors => BatchOperation::DeleteVectors(parse_json(body)?),
        })
    }
}

impl Service {
    /// Applies one update request.
    pub fn update_points(
        &self,
        collection: &str,
        op: BatchOperation,
        wait: bool,
    ) -> Result<UpdateResultResponse, ApiError> {
        let collection = self.storage.collection(collection)?;
        Ok(collection.update(batch_operation(op)?, wait)?.into())
    }

    /// `POST /points/batch`: every operation is validated before the first
    /// is applied; they are then applied in order.
    pub fn batch_update(
        &self,
        collection: &str,
        req: BatchRequest,
        wait: bool,
    ) -> Result<Vec<UpdateResultResponse>, ApiError> {
        let collection = self.storage.collection(collection)?;
        let config = collection.config();
        let mut ops = Vec::with_capacity(req.operations.len());
        for (i, op) in req.operations.into_iter().enumerate() {
            let mut op = batch_operation(op)?;
            op.prepare(&config)
                .map_err(|e| ApiError::BadInput(format!("operations[{i}]: {e}")))?;
            ops.push(op);
        }
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            results.push(collection.update(op, wait)?.into());
        }
        Ok(results)
    }

    pub fn retrieve(
        &self,
        collection: &str,
        req: RetrieveRequest,
    ) -> Result<Vec<RecordResponse>, ApiError> {
        let collection = self.storage.collection(collection)?;
        let config = collection.config();
        let with_payload = req.with_payload.unwrap_or(WithPayload::Enable(true));
        let with_vector = req.with_vector.unwrap_or(WithVector::Enable(false));
        with_payload.validate()?;
        with_vector.validate(&config.params.vectors)?;
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<PointId> = req.ids.into_iter().filter(|id| seen.insert(*id)).collect();
        Ok(collection
            .retrieve(&ids)
            .iter()
            .map(|p| RecordResponse::new(p, &with_payload, &with_vector, &config.params.vectors))
            .collect())
    }

    pub fn get_point(&self, collection: &str, id: &str) -> Result<RecordResponse, ApiError> {
        let id: PointId = id
            .parse()
            .map_err(|e: String| ApiError::validation("id", e))?;
        let collection = self.storage.collection(collection)?;
        let config = collection.config();
        let point = collection
            .retrieve(&[id])
            .pop()
            .ok_or_else(|| ApiError::NotFound(format!("No point with id {id} found")))?;
        Ok(RecordResponse::new(
            &point,
            &WithPayload::Enable(true),
            &WithVector::Enable(true),
            &config.params.vectors,
        ))
    }

    pub fn scroll(&self, collection: &str, req: ScrollRequest) -> Result<ScrollResponse, ApiError> {
        if req.order_by.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(ApiError::Precondition(
                "order_by needs a payload index, which this collection does not have".into(),
            ));
        }
        let collection = self.storage.collection(collection)?;
        let config = collection.config();
        let limit = req.limit.unwrap_or(10);
        if limit == 0 {
            return Err(ApiError::validation("limit", "must be at least 1"));
        }
        if let Some(f) = &req.filter {
            f.validate()
                .map_err(|e| ApiError::validation("filter", e))?;
        }
        let with_payload = req.with_payload.unwrap_or(WithPayload::Enable(true));
        let with_vector = req.with_vector.unwrap_or(WithVector::Enable(false));
        with_payload.validate()?;
        with_vector.validate(&config.params.vectors)?;
        let (ids, next_page_offset) = collection.scroll(req.offset, req.filter.as_ref(), limit);
        let points = collection
            .retrieve(&ids)
            .iter()
            .map(|p| RecordResponse::new(p, &with_payload, &with_vector, &config.params.vectors))
            .collect();
        Ok(ScrollResponse {
            points,
            next_page_offset,
        })
    }

    pub fn count(&self, collection: &str, req: CountRequest) -> Result<CountResponse, ApiError> {
        if let Some(f) = &req.filter {
            f.validate()
                .map_err(|e| ApiError::validation("filter", e))?;
        }
        let collection = self.storage.collection(collection)?;
        Ok(CountResponse {
            count: collection.count(req.filter.as_ref()),
        })
    }
}
