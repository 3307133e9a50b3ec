//! The gRPC API driven by `qdrant-client`'s own high-level client over a
//! real TCP socket, against an in-process server on a temporary directory:
//! a full workflow checked against brute force, every class of bad input
//! with its status code (and nothing changed), API keys, RPCs that are not
//! served, and gzip-compressed requests.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use qdrant_client::config::CompressionEncoding;
use qdrant_client::qdrant::{
    condition::ConditionOneOf, vector_output, vectors_output, Condition, CountPointsBuilder,
    CreateCollectionBuilder, DeletePointsBuilder, Distance, FacetCountsBuilder, FieldCondition,
    Filter, GetPointsBuilder, PointId, PointStruct, PointsIdsList, Query, QueryPointsBuilder,
    Range, ScoredPoint, ScrollPointsBuilder, SearchParamsBuilder, UpsertPointsBuilder, Value,
    VectorParamsBuilder, VectorsOutput,
};
use qdrant_client::{Payload, Qdrant, QdrantError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Code;
use vecforge::api::auth::ApiKeys;
use vecforge::api::grpc::{self, GrpcOptions};
use vecforge::api::service::Service;
use vecforge::storage::Storage;

// ------------------------------------------------------------ server

struct Server {
    dir: Option<tempfile::TempDir>,
    storage: Arc<Storage>,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl Server {
    async fn start(api_keys: ApiKeys) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = Arc::new(Storage::open(dir.path()).expect("open storage"));
        let service = Service {
            storage: storage.clone(),
            defaults: Arc::new(common::defaults()),
            gpu: Default::default(),
        };
        let options = GrpcOptions {
            max_request_size_bytes: 32 << 20,
            api_keys,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            grpc::serve(service, &options, listener, async {
                let _ = stopped.await;
            })
            .await
        });
        Server {
            dir: Some(dir),
            storage,
            url: format!("http://{addr}"),
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn client(&self) -> Qdrant {
        self.client_with(None, None)
    }

    fn client_with(&self, api_key: Option<&str>, gzip: Option<CompressionEncoding>) -> Qdrant {
        Qdrant::from_url(&self.url)
            .api_key(api_key)
            .compression(gzip)
            .timeout(Duration::from_secs(60))
            .skip_compatibility_check()
            .build()
            .expect("build the client")
    }

    /// Stops the server (it must stop within a few seconds, cleanly) and
    /// closes the storage.
    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).expect("the server is still running");
        }
        let task = self.task.take().expect("server task");
        let joined = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the server stops within 10 s");
        joined
            .expect("the server task did not panic")
            .expect("the server ended without a transport error");
        self.storage.close();
        drop(self.dir.take());
    }
}

// ------------------------------------------------------------ helpers

/// A small deterministic generator (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }

    /// Uniform in [-1, 1).
    fn next_f32(&mut self) -> f32 {
        (self.next_u32() as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    }

    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next_f32()).collect()
    }
}

const CITIES: [&str; 4] = ["berlin", "oslo", "paris", "rome"];

fn group_of(id: u64) -> i64 {
    (id % 10) as i64
}

fn city_of(id: u64) -> &'static str {
    CITIES[((id / 3) % CITIES.len() as u64) as usize]
}

fn payload_of(id: u64) -> Payload {
    let mut p = Payload::new();
    p.insert("group", group_of(id));
    p.insert("city", city_of(id));
    p
}

fn num(id: &Option<PointId>) -> u64 {
    use qdrant_client::qdrant::point_id::PointIdOptions;
    match id.as_ref().and_then(|id| id.point_id_options.as_ref()) {
        Some(PointIdOptions::Num(n)) => *n,
        other => panic!("expected a numeric point id, got {other:?}"),
    }
}

fn dense(v: &Option<VectorsOutput>) -> Vec<f32> {
    match v.as_ref().and_then(|v| v.vectors_options.as_ref()) {
        Some(vectors_output::VectorsOptions::Vector(out)) => match &out.vector {
            Some(vector_output::Vector::Dense(d)) => d.data.clone(),
            other => panic!("expected a dense vector, got {other:?}"),
        },
        other => panic!("expected an unnamed vector, got {other:?}"),
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// The status code of a failed call; panics on success or a non-status error.
fn code_of<T: std::fmt::Debug>(result: Result<T, QdrantError>, what: &str) -> (Code, String) {
    match result {
        Err(QdrantError::ResponseError { status }) => (status.code(), status.message().to_string()),
        Err(other) => panic!("{what}: expected a status, got {other}"),
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
    }
}

fn assert_code<T: std::fmt::Debug>(
    result: Result<T, QdrantError>,
    code: Code,
    what: &str,
) -> String {
    let (got, message) = code_of(result, what);
    assert_eq!(got, code, "{what}: {message}");
    assert!(!message.is_empty(), "{what}: empty status message");
    message
}

async fn count(client: &Qdrant, collection: &str, filter: Option<Filter>) -> u64 {
    let mut req = CountPointsBuilder::new(collection).exact(true);
    if let Some(f) = filter {
        req = req.filter(f);
    }
    client
        .count(req)
        .await
        .expect("count")
        .result
        .expect("count result")
        .count
}

async fn create(client: &Qdrant, name: &str, dim: u64, distance: Distance) {
    let created = client
        .create_collection(
            CreateCollectionBuilder::new(name)
                .vectors_config(VectorParamsBuilder::new(dim, distance)),
        )
        .await
        .expect("create collection");
    assert!(created.result, "create {name} answered false");
}

/// A field condition with a key and no predicate: malformed.
fn bare_condition(key: &str) -> Condition {
    Condition {
        condition_one_of: Some(ConditionOneOf::Field(FieldCondition {
            key: key.to_string(),
            ..Default::default()
        })),
    }
}

fn assert_sorted_by_score(points: &[ScoredPoint], what: &str) {
    for w in points.windows(2) {
        assert!(
            w[0].score >= w[1].score,
            "{what}: scores not descending: {} then {}",
            w[0].score,
            w[1].score
        );
    }
}

// ------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_workflow_create_upsert_query_scroll_count_delete() {
    const DIM: usize = 32;
    const N: u64 = 10_000;
    const BATCH: u64 = 1_000;
    let server = Server::start(ApiKeys::default()).await;
    let client = server.client();
    let name = "workflow";

    create(&client, name, DIM as u64, Distance::Cosine).await;
    assert!(client.collection_exists(name).await.expect("exists"));

    let mut rng = Lcg(0x5eed);
    let vectors: Vec<Vec<f32>> = (0..N).map(|_| rng.vector(DIM)).collect();
    for start in (0..N).step_by(BATCH as usize) {
        let points: Vec<PointStruct> = (start..start + BATCH)
            .map(|id| PointStruct::new(id, vectors[id as usize].clone(), payload_of(id)))
            .collect();
        let reply = client
            .upsert_points(UpsertPointsBuilder::new(name, points).wait(true))
            .await
            .expect("upsert a batch");
        let result = reply.result.expect("update result");
        assert_eq!(
            result.status,
            qdrant_client::qdrant::UpdateStatus::Completed as i32,
            "wait=true answers completed"
        );
    }

    // Counts: all, and with filters whose answers are computed here.
    assert_eq!(count(&client, name, None).await, N);
    let oslo_group_3 = Filter::must([
        Condition::matches("city", "oslo".to_string()),
        Condition::matches("group", 3i64),
    ]);
    let expected_oslo_3 = (0..N)
        .filter(|&id| city_of(id) == "oslo" && group_of(id) == 3)
        .count() as u64;
    assert!(expected_oslo_3 > 0);
    assert_eq!(
        count(&client, name, Some(oslo_group_3.clone())).await,
        expected_oslo_3
    );
    let range = Range {
        gte: Some(2.0),
        lt: Some(5.0),
        ..Default::default()
    };
    let in_range = |id: u64| (2..5).contains(&group_of(id));
    assert_eq!(
        count(
            &client,
            name,
            Some(Filter::must([Condition::range("group", range)]))
        )
        .await,
        (0..N).filter(|&id| in_range(id)).count() as u64
    );

    // Exact filtered query: only matching points, the brute-force top 10 in
    // order, with cosine scores.
    let query_filter = Filter::must([
        Condition::range("group", range),
        Condition::matches("city", "paris".to_string()),
    ]);
    let matches_query = |id: u64| in_range(id) && city_of(id) == "paris";
    let q = Lcg(42).vector(DIM);
    let mut brute: Vec<(f64, u64)> = (0..N)
        .filter(|&id| matches_query(id))
        .map(|id| (cosine(&q, &vectors[id as usize]), id))
        .collect();
    brute.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let found = client
        .query(
            QueryPointsBuilder::new(name)
                .query(Query::new_nearest(q.clone()))
                .filter(query_filter.clone())
                .params(SearchParamsBuilder::default().exact(true))
                .limit(10)
                .with_payload(true),
        )
        .await
        .expect("query")
        .result;
    assert_eq!(found.len(), 10);
    assert_sorted_by_score(&found, "query");
    for p in &found {
        let id = num(&p.id);
        assert!(matches_query(id), "point {id} does not match the filter");
        assert_eq!(
            p.get("city").as_str().map(String::as_str),
            Some(city_of(id))
        );
        assert_eq!(p.get("group").as_integer(), Some(group_of(id)));
    }
    assert_eq!(
        num(&found[0].id),
        brute[0].1,
        "top hit is the brute-force best"
    );
    let found_ids: Vec<u64> = found.iter().map(|p| num(&p.id)).collect();
    let brute_ids: Vec<u64> = brute.iter().take(10).map(|(_, id)| *id).collect();
    assert_eq!(found_ids, brute_ids, "exact top 10");
    for (p, (score, _)) in found.iter().zip(&brute) {
        assert!(
            (p.score as f64 - score).abs() < 1e-4,
            "score {} vs brute force {score}",
            p.score
        );
    }

    // Scroll all of a filter's points, page by page.
    let expected_scroll: Vec<u64> = (0..N).filter(|&id| in_range(id)).collect();
    let scroll_filter = Filter::must([Condition::range("group", range)]);
    let mut scrolled = Vec::new();
    let mut offset: Option<PointId> = None;
    let mut pages = 0;
    loop {
        let mut req = ScrollPointsBuilder::new(name)
            .filter(scroll_filter.clone())
            .limit(700)
            .with_payload(true);
        if let Some(o) = offset.take() {
            req = req.offset(o);
        }
        let page = client.scroll(req).await.expect("scroll");
        pages += 1;
        assert!(page.result.len() <= 700);
        for p in &page.result {
            let id = num(&p.id);
            assert_eq!(p.get("group").as_integer(), Some(group_of(id)));
            scrolled.push(id);
        }
        match page.next_page_offset {
            Some(next) => offset = Some(next),
            None => break,
        }
        assert!(pages < 100, "scroll does not end");
    }
    assert_eq!(
        scrolled, expected_scroll,
        "scroll: the filter's ids, ascending"
    );
    assert_eq!(pages, expected_scroll.len().div_ceil(700));

    // Delete by filter, then by ids (some already gone), and count.
    client
        .delete_points(
            DeletePointsBuilder::new(name)
                .points(Filter::must([Condition::matches("group", 7i64)]))
                .wait(true),
        )
        .await
        .expect("delete by filter");
    let mut alive: BTreeSet<u64> = (0..N).filter(|&id| group_of(id) != 7).collect();
    assert_eq!(count(&client, name, None).await, alive.len() as u64);
    assert_eq!(
        count(
            &client,
            name,
            Some(Filter::must([Condition::matches("group", 7i64)]))
        )
        .await,
        0
    );
    let doomed: Vec<PointId> = (0..100u64).map(PointId::from).collect();
    client
        .delete_points(
            DeletePointsBuilder::new(name)
                .points(PointsIdsList { ids: doomed })
                .wait(true),
        )
        .await
        .expect("delete by ids");
    alive.retain(|&id| id >= 100);
    assert_eq!(count(&client, name, None).await, alive.len() as u64);
    assert_eq!(alive.len(), 8_910);

    let got = client
        .get_points(
            GetPointsBuilder::new(name, vec![5.into(), 100.into(), 107.into(), 9_999.into()])
                .with_payload(true)
                .with_vectors(true),
        )
        .await
        .expect("get points")
        .result;
    let got_ids: BTreeSet<u64> = got.iter().map(|p| num(&p.id)).collect();
    assert_eq!(
        got_ids,
        BTreeSet::from([100, 9_999]),
        "deleted points are gone"
    );
    for p in &got {
        let id = num(&p.id);
        assert_eq!(
            p.get("city").as_str().map(String::as_str),
            Some(city_of(id))
        );
        let v = dense(&p.vectors);
        assert_eq!(v.len(), DIM);
        // Cosine stores normalized vectors: same direction as the input.
        assert!(cosine(&v, &vectors[id as usize]) > 0.9999, "vector of {id}");
    }

    // The same filtered query after the deletes: the brute force over what
    // is left.
    let found = client
        .query(
            QueryPointsBuilder::new(name)
                .query(Query::new_nearest(q.clone()))
                .filter(query_filter)
                .params(SearchParamsBuilder::default().exact(true))
                .limit(3),
        )
        .await
        .expect("query after deletes")
        .result;
    let expected: Vec<u64> = brute
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| alive.contains(id))
        .take(3)
        .collect();
    assert_eq!(
        found.iter().map(|p| num(&p.id)).collect::<Vec<_>>(),
        expected
    );

    let info = client
        .collection_info(name)
        .await
        .expect("collection info")
        .result
        .expect("info result");
    assert_eq!(info.points_count, Some(alive.len() as u64));

    let listed = client.list_collections().await.expect("list");
    let names: Vec<&str> = listed.collections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec![name]);

    assert!(client.delete_collection(name).await.expect("drop").result);
    assert!(!client.collection_exists(name).await.expect("exists"));

    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_right_status_and_changes_nothing() {
    const DIM: usize = 4;
    let server = Server::start(ApiKeys::default()).await;
    let client = server.client();
    let name = "strict";
    create(&client, name, DIM as u64, Distance::Dot).await;
    let mut rng = Lcg(7);
    let points: Vec<PointStruct> = (0..20u64)
        .map(|id| PointStruct::new(id, rng.vector(DIM), payload_of(id)))
        .collect();
    client
        .upsert_points(UpsertPointsBuilder::new(name, points).wait(true))
        .await
        .expect("seed");
    assert_eq!(count(&client, name, None).await, 20);

    // (a) a vector of the wrong dimension.
    let message = assert_code(
        client
            .upsert_points(
                UpsertPointsBuilder::new(
                    name,
                    vec![PointStruct::new(100u64, vec![1.0; DIM + 1], Payload::new())],
                )
                .wait(true),
            )
            .await,
        Code::InvalidArgument,
        "wrong dimension",
    );
    assert!(!message.trim().is_empty());
    assert_eq!(count(&client, name, None).await, 20);

    // (f) one wrong vector among good ones: nothing of the request is written.
    let mixed: Vec<PointStruct> = (200..210u64)
        .map(|id| {
            let dim = if id == 205 { DIM - 1 } else { DIM };
            PointStruct::new(id, vec![0.5; dim], payload_of(id))
        })
        .collect();
    assert_code(
        client
            .upsert_points(UpsertPointsBuilder::new(name, mixed).wait(true))
            .await,
        Code::InvalidArgument,
        "one wrong vector in a batch",
    );
    assert_eq!(count(&client, name, None).await, 20);
    let none = client
        .get_points(GetPointsBuilder::new(
            name,
            (200..210u64).map(PointId::from).collect::<Vec<_>>(),
        ))
        .await
        .expect("get")
        .result;
    assert!(none.is_empty(), "points of a refused batch exist: {none:?}");

    // (b) an unknown collection, on every kind of RPC.
    let missing = "no_such_collection";
    assert_code(
        client.collection_info(missing).await,
        Code::NotFound,
        "info of a missing collection",
    );
    assert_code(
        client.count(CountPointsBuilder::new(missing)).await,
        Code::NotFound,
        "count on a missing collection",
    );
    assert_code(
        client
            .upsert_points(
                UpsertPointsBuilder::new(
                    missing,
                    vec![PointStruct::new(1u64, vec![0.0; DIM], Payload::new())],
                )
                .wait(true),
            )
            .await,
        Code::NotFound,
        "upsert into a missing collection",
    );
    assert_code(
        client
            .query(
                QueryPointsBuilder::new(missing)
                    .query(Query::new_nearest(vec![0.0; DIM]))
                    .limit(1),
            )
            .await,
        Code::NotFound,
        "query on a missing collection",
    );
    assert_code(
        client.scroll(ScrollPointsBuilder::new(missing)).await,
        Code::NotFound,
        "scroll on a missing collection",
    );
    assert_code(
        client
            .get_points(GetPointsBuilder::new(missing, vec![1.into()]))
            .await,
        Code::NotFound,
        "get on a missing collection",
    );
    assert_code(
        client
            .delete_points(
                DeletePointsBuilder::new(missing)
                    .points(PointsIdsList {
                        ids: vec![1.into()],
                    })
                    .wait(true),
            )
            .await,
        Code::NotFound,
        "delete on a missing collection",
    );
    assert!(!client.collection_exists(missing).await.expect("exists"));

    // (c) a field condition without a predicate.
    let malformed = Filter::must([bare_condition("group")]);
    let message = assert_code(
        client
            .count(CountPointsBuilder::new(name).filter(malformed.clone()))
            .await,
        Code::InvalidArgument,
        "count with a malformed filter",
    );
    assert!(message.contains("filter"), "names the filter: {message}");
    assert_code(
        client
            .scroll(ScrollPointsBuilder::new(name).filter(malformed.clone()))
            .await,
        Code::InvalidArgument,
        "scroll with a malformed filter",
    );
    assert_code(
        client
            .query(
                QueryPointsBuilder::new(name)
                    .query(Query::new_nearest(vec![0.0; DIM]))
                    .filter(malformed.clone())
                    .limit(1),
            )
            .await,
        Code::InvalidArgument,
        "query with a malformed filter",
    );
    assert_code(
        client
            .delete_points(
                DeletePointsBuilder::new(name)
                    .points(malformed.clone())
                    .wait(true),
            )
            .await,
        Code::InvalidArgument,
        "delete with a malformed filter",
    );
    // Nested inside should / must_not, too.
    let nested = Filter {
        must_not: vec![Condition::from(Filter::should([bare_condition("city")]))],
        ..Default::default()
    };
    assert_code(
        client
            .delete_points(DeletePointsBuilder::new(name).points(nested).wait(true))
            .await,
        Code::InvalidArgument,
        "delete with a nested malformed filter",
    );
    assert_eq!(count(&client, name, None).await, 20);

    // (d) missing and empty ids.
    let no_id = PointStruct {
        id: None,
        vectors: Some(vec![0.1; DIM].into()),
        payload: HashMap::new(),
    };
    assert_code(
        client
            .upsert_points(UpsertPointsBuilder::new(name, vec![no_id]).wait(true))
            .await,
        Code::InvalidArgument,
        "upsert of a point without an id",
    );
    let no_vectors = PointStruct {
        id: Some(300u64.into()),
        vectors: None,
        payload: HashMap::new(),
    };
    assert_code(
        client
            .upsert_points(UpsertPointsBuilder::new(name, vec![no_vectors]).wait(true))
            .await,
        Code::InvalidArgument,
        "upsert of a point without vectors",
    );
    assert_code(
        client
            .get_points(GetPointsBuilder::new(
                name,
                vec![PointId {
                    point_id_options: None,
                }],
            ))
            .await,
        Code::InvalidArgument,
        "get with an empty point id",
    );
    assert_code(
        client
            .get_points(GetPointsBuilder::new(
                name,
                vec![PointId::from("not-a-uuid")],
            ))
            .await,
        Code::InvalidArgument,
        "get with a malformed UUID",
    );
    let got = client
        .get_points(GetPointsBuilder::new(name, Vec::<PointId>::new()))
        .await
        .expect("get with no ids")
        .result;
    assert!(got.is_empty(), "get with no ids: {got:?}");
    client
        .delete_points(
            DeletePointsBuilder::new(name)
                .points(PointsIdsList { ids: vec![] })
                .wait(true),
        )
        .await
        .expect("delete of an empty id list is accepted");
    assert_eq!(count(&client, name, None).await, 20);
    // A delete without any selector says what is missing.
    let mut no_selector = DeletePointsBuilder::new(name).wait(true).build();
    no_selector.points = None;
    assert_code(
        client.delete_points(no_selector).await,
        Code::InvalidArgument,
        "delete without a selector",
    );

    // (e) an existing collection.
    assert_code(
        client
            .create_collection(
                CreateCollectionBuilder::new(name)
                    .vectors_config(VectorParamsBuilder::new(8, Distance::Cosine)),
            )
            .await,
        Code::AlreadyExists,
        "create an existing collection",
    );
    // A bad create is refused and creates nothing.
    assert_code(
        client
            .create_collection(
                CreateCollectionBuilder::new("zero_dim")
                    .vectors_config(VectorParamsBuilder::new(0, Distance::Cosine)),
            )
            .await,
        Code::InvalidArgument,
        "create with size 0",
    );
    assert!(!client.collection_exists("zero_dim").await.expect("exists"));

    // Nothing above changed the data.
    let all = client
        .scroll(ScrollPointsBuilder::new(name).limit(100).with_payload(true))
        .await
        .expect("scroll")
        .result;
    assert_eq!(
        all.iter().map(|p| num(&p.id)).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    let info = client
        .collection_info(name)
        .await
        .expect("info")
        .result
        .expect("info result");
    assert_eq!(info.points_count, Some(20));

    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_unimplemented() {
    let server = Server::start(ApiKeys {
        full: Some("secret".into()),
        read_only: Some("ro".into()),
    })
    .await;
    let anonymous = server.client();
    let wrong = server.client_with(Some("nope"), None);
    let reader = server.client_with(Some("ro"), None);
    let admin = server.client_with(Some("secret"), None);

    // Health needs no key.
    let health = anonymous
        .health_check()
        .await
        .expect("health without a key");
    assert_eq!(health.title, vecforge::TITLE);
    assert_eq!(
        health.version,
        vecforge::QDRANT_COMPATIBLE_VERSION,
        "as GET / says"
    );

    // So does the standard grpc.health.v1 service, with or without a key.
    use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient};
    let channel = tonic::transport::Channel::from_shared(server.url.clone())
        .expect("server URL")
        .connect()
        .await
        .expect("connect the health client");
    let mut health = HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("grpc.health.v1 Check without a key")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    assert_code(
        anonymous.list_collections().await,
        Code::Unauthenticated,
        "list without a key",
    );
    assert_code(
        wrong.list_collections().await,
        Code::Unauthenticated,
        "list with a wrong key",
    );
    assert_code(
        anonymous
            .create_collection(
                CreateCollectionBuilder::new("c")
                    .vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
            )
            .await,
        Code::Unauthenticated,
        "create without a key",
    );

    // Read-only: reads yes, writes no.
    assert!(reader
        .list_collections()
        .await
        .expect("list with the read-only key")
        .collections
        .is_empty());
    assert_code(
        reader
            .create_collection(
                CreateCollectionBuilder::new("c")
                    .vectors_config(VectorParamsBuilder::new(2, Distance::Dot)),
            )
            .await,
        Code::PermissionDenied,
        "create with the read-only key",
    );
    assert!(!admin.collection_exists("c").await.expect("exists"));

    // Full key: everything.
    create(&admin, "c", 2, Distance::Dot).await;
    admin
        .upsert_points(
            UpsertPointsBuilder::new(
                "c",
                vec![
                    PointStruct::new(1u64, vec![1.0, 0.0], payload_of(1)),
                    PointStruct::new(2u64, vec![0.0, 1.0], payload_of(2)),
                ],
            )
            .wait(true),
        )
        .await
        .expect("upsert with the full key");

    // The reader sees it, and still cannot write.
    assert_eq!(count(&reader, "c", None).await, 2);
    let top = reader
        .query(
            QueryPointsBuilder::new("c")
                .query(Query::new_nearest(vec![0.2, 0.9]))
                .limit(1),
        )
        .await
        .expect("query with the read-only key")
        .result;
    assert_eq!(top.iter().map(|p| num(&p.id)).collect::<Vec<_>>(), vec![2]);
    assert_code(
        reader
            .upsert_points(
                UpsertPointsBuilder::new(
                    "c",
                    vec![PointStruct::new(3u64, vec![1.0, 1.0], Payload::new())],
                )
                .wait(true),
            )
            .await,
        Code::PermissionDenied,
        "upsert with the read-only key",
    );
    assert_code(
        reader
            .delete_points(
                DeletePointsBuilder::new("c")
                    .points(PointsIdsList {
                        ids: vec![1.into()],
                    })
                    .wait(true),
            )
            .await,
        Code::PermissionDenied,
        "delete with the read-only key",
    );
    assert_code(
        reader.delete_collection("c").await,
        Code::PermissionDenied,
        "drop with the read-only key",
    );
    assert_code(
        anonymous.count(CountPointsBuilder::new("c")).await,
        Code::Unauthenticated,
        "count without a key",
    );
    assert_eq!(count(&admin, "c", None).await, 2);

    // Not served: a method of a served service, and a whole service.
    let message = assert_code(
        admin.facet(FacetCountsBuilder::new("c", "city")).await,
        Code::Unimplemented,
        "facet",
    );
    assert!(message.contains("Facet"), "names the RPC: {message}");
    let message = assert_code(
        admin.create_snapshot("c").await,
        Code::Unimplemented,
        "create snapshot",
    );
    assert!(
        message.contains("Snapshots/Create"),
        "names the RPC: {message}"
    );
    // Keys are checked before that.
    assert_code(
        anonymous.facet(FacetCountsBuilder::new("c", "city")).await,
        Code::Unauthenticated,
        "facet without a key",
    );

    drop((anonymous, wrong, reader, admin));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_requests_are_accepted() {
    const DIM: usize = 16;
    let server = Server::start(ApiKeys::default()).await;
    let client = server.client_with(None, Some(CompressionEncoding::Gzip));
    create(&client, "zipped", DIM as u64, Distance::Dot).await;

    // Compressible: long repetitive payload strings.
    let mut rng = Lcg(99);
    let vectors: Vec<Vec<f32>> = (0..500).map(|_| rng.vector(DIM)).collect();
    let points: Vec<PointStruct> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut p = payload_of(i as u64);
            p.insert("text", "lorem ipsum ".repeat(50));
            PointStruct::new(i as u64, v.clone(), p)
        })
        .collect();
    client
        .upsert_points(UpsertPointsBuilder::new("zipped", points).wait(true))
        .await
        .expect("gzip upsert");
    assert_eq!(count(&client, "zipped", None).await, 500);

    let q = Lcg(5).vector(DIM);
    let dot = |v: &[f32]| -> f64 { v.iter().zip(&q).map(|(a, b)| *a as f64 * *b as f64).sum() };
    let best = (0..vectors.len())
        .max_by(|&a, &b| dot(&vectors[a]).total_cmp(&dot(&vectors[b])))
        .expect("non-empty") as u64;
    let found = client
        .query(
            QueryPointsBuilder::new("zipped")
                .query(Query::new_nearest(q.clone()))
                .params(SearchParamsBuilder::default().exact(true))
                .with_payload(true)
                .with_vectors(true)
                .limit(5),
        )
        .await
        .expect("gzip query")
        .result;
    assert_eq!(found.len(), 5);
    assert_sorted_by_score(&found, "gzip query");
    let top = &found[0];
    assert_eq!(num(&top.id), best);
    assert_eq!(
        dense(&top.vectors),
        vectors[best as usize],
        "Dot keeps vectors as sent"
    );
    assert!((top.score as f64 - dot(&vectors[best as usize])).abs() < 1e-4);
    assert_eq!(
        top.get("text").as_str().map(String::len),
        Some("lorem ipsum ".len() * 50)
    );
    let value: &Value = top.get("group");
    assert_eq!(value.as_integer(), Some(group_of(best)));

    // A plain client reads what the gzip one wrote.
    let plain = server.client();
    assert_eq!(count(&plain, "zipped", None).await, 500);

    drop((client, plain));
    server.shutdown().await;
}

/// A `Condition` with no variant set is malformed (Qdrant answers
/// `InvalidArgument: Malformed Condition type`). Its REST JSON form would be
/// `{}`, an empty filter that matches every point, so a delete by such a
/// filter would empty the collection: it must be refused, and the message
/// must say where.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_condition_is_refused() {
    let server = Server::start(ApiKeys::default()).await;
    let client = server.client();
    create(&client, "e", 2, Distance::Dot).await;
    client
        .upsert_points(
            UpsertPointsBuilder::new(
                "e",
                vec![
                    PointStruct::new(1u64, vec![1.0, 0.0], payload_of(1)),
                    PointStruct::new(2u64, vec![0.0, 1.0], payload_of(2)),
                ],
            )
            .wait(true),
        )
        .await
        .expect("seed");
    let empty = Filter::must([Condition {
        condition_one_of: None,
    }]);
    let message = assert_code(
        client
            .count(CountPointsBuilder::new("e").filter(empty.clone()))
            .await,
        Code::InvalidArgument,
        "count with an empty condition",
    );
    assert!(message.contains("filter.must[0]"), "{message}");
    assert_code(
        client
            .delete_points(DeletePointsBuilder::new("e").points(empty).wait(true))
            .await,
        Code::InvalidArgument,
        "delete with an empty condition",
    );
    assert_eq!(count(&client, "e", None).await, 2);
    drop(client);
    server.shutdown().await;
}
