//! `GET /collections/{name}/optimizations`: the optimizer's running,
//! queued and completed work in Qdrant's `OptimizationsResponse` shape.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ApiError, Service};
use crate::collection::manifest::SegmentId;
use crate::collection::optimization::{JobInfo, QueuedJob};

/// Query parameters: `with` is a comma-separated list of `queued`,
/// `completed` and `idle_segments`.
#[derive(Debug, Default, Deserialize)]
pub struct OptimizationsParams {
    #[serde(default)]
    pub with: Option<String>,
    #[serde(default)]
    pub completed_limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct OptimizationsResponse {
    pub summary: Summary,
    pub running: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_segments: Option<Vec<Value>>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub queued_optimizations: usize,
    pub queued_segments: usize,
    pub queued_points: usize,
    pub idle_segments: usize,
}

/// Segments are named by number on disk; the API shows them as UUIDs.
fn segment_uuid(id: SegmentId) -> String {
    uuid::Uuid::from_u64_pair(0, id).to_string()
}

fn segments(sources: &[(SegmentId, usize)]) -> Vec<Value> {
    sources
        .iter()
        .map(|(id, points)| json!({"uuid": segment_uuid(*id), "points_count": points}))
        .collect()
}

fn job(job: &JobInfo) -> Value {
    use std::sync::atomic::Ordering::Relaxed;
    let status = match job.status.strip_prefix("error: ") {
        Some(error) => json!({ "error": error }),
        None => json!(job.status),
    };
    let stage = match job.progress.stage.load(Relaxed) {
        0 => "copy points".to_string(),
        n => format!("build HNSW graph {n}"),
    };
    let duration = (job.finished.unwrap_or_else(chrono::Utc::now) - job.started).num_milliseconds()
        as f64
        / 1000.0;
    let mut progress = json!({
        "name": job.kind.name(),
        "started_at": job.started.to_rfc3339(),
        "duration_sec": duration,
        "children": [],
    });
    if let Some(finished) = job.finished {
        progress["finished_at"] = json!(finished.to_rfc3339());
    } else {
        progress["children"] = json!([{
            "name": stage,
            "done": job.progress.done.load(Relaxed),
            "total": job.progress.total.load(Relaxed),
            "children": [],
        }]);
    }
    json!({
        "uuid": segment_uuid(job.segment),
        "optimizer": job.kind.name(),
        "status": status,
        "segments": segments(&job.sources),
        "progress": progress,
    })
}

fn queued(job: &QueuedJob) -> Value {
    json!({"optimizer": job.kind.name(), "segments": segments(&job.sources)})
}

impl Service {
    pub fn optimizations(
        &self,
        collection: &str,
        params: &OptimizationsParams,
    ) -> Result<OptimizationsResponse, ApiError> {
        let (mut with_queued, mut with_completed, mut with_idle) = (false, false, false);
        for item in params.with.iter().flat_map(|w| w.split(',')) {
            match item.trim() {
                "queued" => with_queued = true,
                "completed" => with_completed = true,
                "idle_segments" => with_idle = true,
                "" => {}
                other => {
                    return Err(ApiError::BadInput(format!(
                        "with: unknown value {other:?}; expected queued, completed or idle_segments"
                    )))
                }
            }
        }
        let report = self.storage.collection(collection)?.optimizer_report();
        let limit = params.completed_limit.unwrap_or(16);
        Ok(OptimizationsResponse {
            summary: Summary {
                queued_optimizations: report.queued.len(),
                queued_segments: report.queued.iter().map(|q| q.sources.len()).sum(),
                queued_points: report
                    .queued
                    .iter()
                    .flat_map(|q| q.sources.iter().map(|s| s.1))
                    .sum(),
                idle_segments: report.idle.len(),
            },
            running: report.running.iter().map(job).collect(),
            queued: with_queued.then(|| report.queued.iter().map(queued).collect()),
            completed: with_completed
                .then(|| report.completed.iter().take(limit).map(job).collect()),
            idle_segments: with_idle.then(|| segments(&report.idle)),
        })
    }
}
