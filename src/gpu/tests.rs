//! Kernel tests on whatever Vulkan device is present (llvmpipe in CI),
//! with the validation layer on: any message it reports fails the test.
//! Without a device they skip with a message, except under `CI`, where
//! they fail.

use std::time::Duration;

use super::*;

/// Opens every device the tests may use, with validation when the layer is
/// installed; `None` (after saying why) if there is no Vulkan here.
pub(crate) fn test_gpu() -> Option<Gpu> {
    let ci = std::env::var_os("CI").is_some();
    let config = GpuConfig {
        allow_emulated: true,
        allow_integrated: true,
        ..GpuConfig::default()
    };
    match Gpu::open(&config, true) {
        Ok(gpu) => Some(gpu),
        Err(GpuError::Unsupported(why)) if !ci && why.contains("validation") => {
            eprintln!("GPU test runs WITHOUT the validation layer: {why}");
            Gpu::open(&config, false).ok()
        }
        Err(error) if ci => panic!("CI is set, so GPU tests must run, but: {error}"),
        Err(error) => {
            eprintln!("SKIPPED GPU test: {error}");
            None
        }
    }
}

/// Drops the devices, then fails if the validation layer said anything.
pub(crate) fn finish(gpu: Gpu) {
    let instance = gpu.instance.clone();
    drop(gpu);
    let messages = instance.validation_messages();
    assert!(messages.is_empty(), "validation layer: {messages:#?}");
}

const TIMEOUT: Duration = Duration::from_secs(120);

/// A deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn host(device: &Device, name: &str, bytes: &[u8]) -> Buffer {
    let mut buffer = device
        .buffer(name, bytes.len() as u64, MemoryLocation::CpuToGpu)
        .unwrap();
    buffer.write(0, bytes);
    buffer
}

fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The f64 key of two rows, as the shaders define it.
fn reference(metric: ShaderMetric, a: &[f32], b: &[f32]) -> (f64, f64) {
    let terms = a.iter().zip(b).map(|(&x, &y)| {
        let (x, y) = (f64::from(x), f64::from(y));
        match metric {
            ShaderMetric::Dot => x * y,
            ShaderMetric::L2 => (x - y) * (x - y),
            ShaderMetric::L1 => (x - y).abs(),
        }
    });
    let (sum, magnitude) = terms.fold((0.0, 0.0), |(s, m), t| (s + t, m + t.abs()));
    let key = if metric == ShaderMetric::Dot {
        -sum
    } else {
        sum
    };
    (key, magnitude)
}

const METRICS: [ShaderMetric; 3] = [ShaderMetric::Dot, ShaderMetric::L2, ShaderMetric::L1];

/// Runs the `distances` kernel over `pairs` of `rows`.
fn gpu_keys(
    device: &Device,
    metric: ShaderMetric,
    element: Element,
    rows: &[Vec<f32>],
    pairs: &[(u32, u32)],
) -> Vec<f32> {
    let row = |i: usize, out: &mut [f32]| out.copy_from_slice(&rows[i]);
    gpu_keys_with(
        device,
        metric,
        element,
        (rows.len(), rows[0].len()),
        &row,
        pairs,
    )
}

/// [`gpu_keys`] with rows made on the fly: `shape` is (rows, dim).
fn gpu_keys_with(
    device: &Device,
    metric: ShaderMetric,
    element: Element,
    (len, dim): (usize, usize),
    row: &dyn Fn(usize, &mut [f32]),
    pairs: &[(u32, u32)],
) -> Vec<f32> {
    let mut stream = device.stream(0, TIMEOUT).unwrap();
    let uploaded = Rows::upload(device, &mut stream, len, dim, element, row).unwrap();
    let (name, spirv) = KernelKind::Distances.spirv(metric, element);
    let kernel = device
        .kernel(&name, spirv, KernelKind::Distances.bindings())
        .unwrap();
    let params = host(
        device,
        "params",
        &words(&[uploaded.rows_per_chunk, uploaded.stride, pairs.len() as u32]),
    );
    let flat: Vec<u32> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    let pairs_buffer = host(device, "pairs", &words(&flat));
    let out = device
        .buffer("out", pairs.len() as u64 * 4, MemoryLocation::GpuOnly)
        .unwrap();
    let mut bindings: Vec<&Buffer> = uploaded.bindings().to_vec();
    bindings.extend([&params, &pairs_buffer, &out]);
    stream
        .dispatch(
            &kernel,
            &bindings,
            [(pairs.len() as u32).div_ceil(64), 1, 1],
        )
        .unwrap();
    let bytes = stream.download(&out, 0, pairs.len() as u64 * 4).unwrap();
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// GPU keys against an f64 reference on the same (for f16: rounded)
/// inputs. Tolerance: the forward error bound of an f32 sum of `dim`
/// terms, `dim · ε · Σ|term|`, with ε = 2⁻²⁴ and a factor 2 for the
/// product's own rounding.
#[test]
fn distances_match_f64_reference() {
    let Some(gpu) = test_gpu() else { return };
    let device = &gpu.devices[0];
    let mut rng = Lcg(7);
    for dim in [1usize, 5, 37, 384] {
        let rows: Vec<Vec<f32>> = (0..50)
            .map(|_| (0..dim).map(|_| rng.next() * 3.0).collect())
            .collect();
        let pairs: Vec<(u32, u32)> = (0..200u32).map(|i| (i % 50, (i * 7 + 3) % 50)).collect();
        for element in [Element::F32, Element::F16] {
            let inputs: Vec<Vec<f32>> = match element {
                Element::F32 => rows.clone(),
                Element::F16 => rows
                    .iter()
                    .map(|r| r.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect())
                    .collect(),
            };
            for metric in METRICS {
                let keys = gpu_keys(device, metric, element, &rows, &pairs);
                for (&(a, b), &key) in pairs.iter().zip(&keys) {
                    let (want, magnitude) =
                        reference(metric, &inputs[a as usize], &inputs[b as usize]);
                    let tolerance = 2.0 * dim as f64 * f64::from(f32::EPSILON) * magnitude + 1e-30;
                    assert!(
                        (f64::from(key) - want).abs() <= tolerance,
                        "{metric:?} {element:?} dim {dim} pair ({a},{b}): gpu {key}, f64 {want}, tolerance {tolerance}"
                    );
                }
            }
        }
    }
    finish(gpu);
}

/// Cosine, the fourth metric: rows normalised in f32 (as the segment
/// stores them) and scored by the dot kernel give minus the f64 cosine of
/// the original vectors, within the dot tolerance plus the normalisation's
/// rounding (a few ulps per component).
#[test]
fn cosine_is_dot_on_normalised_rows() {
    let Some(gpu) = test_gpu() else { return };
    let mut rng = Lcg(13);
    for dim in [3usize, 384] {
        let raw: Vec<Vec<f32>> = (0..40)
            .map(|_| (0..dim).map(|_| rng.next() * 5.0).collect())
            .collect();
        let normalised: Vec<Vec<f32>> = raw
            .iter()
            .map(|r| {
                let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
                r.iter().map(|x| x / norm).collect()
            })
            .collect();
        let pairs: Vec<(u32, u32)> = (0..120u32).map(|i| (i % 40, (i * 3 + 1) % 40)).collect();
        for element in [Element::F32, Element::F16] {
            let keys = gpu_keys(
                &gpu.devices[0],
                ShaderMetric::Dot,
                element,
                &normalised,
                &pairs,
            );
            for (&(a, b), &key) in pairs.iter().zip(&keys) {
                let (x, y) = (&raw[a as usize], &raw[b as usize]);
                let dot: f64 = x
                    .iter()
                    .zip(y)
                    .map(|(&p, &q)| f64::from(p) * f64::from(q))
                    .sum();
                let norms = |v: &[f32]| v.iter().map(|&p| f64::from(p).powi(2)).sum::<f64>().sqrt();
                let want = -dot / (norms(x) * norms(y));
                // f16 rows carry 2^-11 relative error per component.
                let tolerance = match element {
                    Element::F32 => 4.0 * dim as f64 * f64::from(f32::EPSILON),
                    Element::F16 => {
                        2.0 * 2f64.powi(-11) + 2.0 * dim as f64 * f64::from(f32::EPSILON)
                    }
                };
                assert!(
                    (f64::from(key) - want).abs() <= tolerance,
                    "{element:?} dim {dim} ({a},{b}): gpu {key}, f64 {want}"
                );
            }
        }
    }
    finish(gpu);
}

/// A NaN component gives +inf, never NaN, as `Metric::key` does.
#[test]
fn nan_keys_rank_last() {
    let Some(gpu) = test_gpu() else { return };
    let rows = vec![vec![f32::NAN, 1.0], vec![1.0, 1.0]];
    for metric in METRICS {
        let keys = gpu_keys(
            &gpu.devices[0],
            metric,
            Element::F32,
            &rows,
            &[(0, 1), (1, 1)],
        );
        assert_eq!(keys[0], f32::INFINITY, "{metric:?}");
        assert!(keys[1].is_finite(), "{metric:?}");
    }
    finish(gpu);
}

/// Runs `top_k` for `queries`; (node, key) lists, closest first.
fn gpu_top_k(
    device: &Device,
    metric: ShaderMetric,
    rows: &[Vec<f32>],
    queries: &[u32],
    k: u32,
) -> Vec<Vec<(u32, f32)>> {
    let dim = rows[0].len();
    let mut stream = device.stream(0, TIMEOUT).unwrap();
    let uploaded = Rows::upload(
        device,
        &mut stream,
        rows.len(),
        dim,
        Element::F32,
        &|i, out| out.copy_from_slice(&rows[i]),
    )
    .unwrap();
    let (name, spirv) = KernelKind::TopK.spirv(metric, Element::F32);
    let kernel = device
        .kernel(&name, spirv, KernelKind::TopK.bindings())
        .unwrap();
    let params = host(
        device,
        "params",
        &words(&[
            uploaded.rows_per_chunk,
            uploaded.stride,
            rows.len() as u32,
            k,
        ]),
    );
    let query_buffer = host(device, "queries", &words(queries));
    let size = queries.len() as u64 * u64::from(k) * 8;
    let out = device.buffer("out", size, MemoryLocation::GpuOnly).unwrap();
    let mut bindings: Vec<&Buffer> = uploaded.bindings().to_vec();
    bindings.extend([&params, &query_buffer, &out]);
    stream
        .dispatch(&kernel, &bindings, [queries.len() as u32, 1, 1])
        .unwrap();
    let bytes = stream.download(&out, 0, size).unwrap();
    let pairs: Vec<(u32, f32)> = bytes
        .chunks_exact(8)
        .map(|b| {
            let node = u32::from_le_bytes(b[..4].try_into().unwrap());
            let key = f32::from_le_bytes(b[4..].try_into().unwrap());
            (node, key)
        })
        .collect();
    pairs.chunks(k as usize).map(<[_]>::to_vec).collect()
}

/// Exact top-k on the CPU, ordered by (key, node) as the graph orders.
fn cpu_top_k(metric: ShaderMetric, rows: &[Vec<f32>], query: u32, k: usize) -> Vec<(u32, f32)> {
    let mut all: Vec<(u32, f32)> = (0..rows.len() as u32)
        .map(|i| {
            let (key, _) = reference(metric, &rows[query as usize], &rows[i as usize]);
            (i, key as f32)
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

/// With small-integer components every sum is exact in f32, so the GPU's
/// selection (ties broken by node) must equal the CPU's exactly, for
/// `k` below, at, and far above the workgroup width, and past the row
/// count.
#[test]
fn top_k_matches_cpu_exactly() {
    let Some(gpu) = test_gpu() else { return };
    let device = &gpu.devices[0];
    let mut rng = Lcg(11);
    let rows: Vec<Vec<f32>> = (0..700)
        .map(|_| (0..19).map(|_| (rng.next() * 6.0).round()).collect())
        .collect();
    let queries = [0u32, 1, 99, 350, 699];
    for metric in METRICS {
        for k in [1u32, 10, 32, 100, 512] {
            let got = gpu_top_k(device, metric, &rows, &queries, k);
            for (query, got) in queries.iter().zip(&got) {
                let want = cpu_top_k(metric, &rows, *query, k as usize);
                assert_eq!(
                    &got[..want.len()],
                    &want[..],
                    "{metric:?} k {k} query {query}"
                );
            }
        }
    }
    let small = &rows[..20];
    let got = gpu_top_k(device, ShaderMetric::L2, small, &[3], 32);
    assert_eq!(
        &got[0][..20],
        &cpu_top_k(ShaderMetric::L2, small, 3, 20)[..]
    );
    assert!(
        got[0][20..].iter().all(|&(node, _)| node == u32::MAX),
        "padding is NONE"
    );
    finish(gpu);
}

/// Vectors spread over several buffers are read from the right one.
///
/// Rows are 30,000 words long: llvmpipe ends an invocation's loops after
/// 65,535 iterations in all (gallivm's loop limiter), and across buffers
/// `row_sum` reads one word per iteration. Real dimensions are far below
/// that (Qdrant caps them at 65,536 components, 16,384 words).
#[test]
fn rows_span_several_buffers() {
    let Some(gpu) = test_gpu() else { return };
    let device = &gpu.devices[0];
    let info = device.info();
    let dim = 30_000 * 4;
    let row_bytes = dim as u64 * 4;
    let per_buffer = info.max_storage_buffer_range.min(info.max_allocation);
    let len = (2 * per_buffer / row_bytes + 3) as usize;
    if len > 1200 {
        eprintln!("SKIPPED multi-buffer test: {per_buffer}-byte buffers need {len} rows of {row_bytes} bytes");
        finish(gpu);
        return;
    }
    // Row i is i in its first and last component, 0 elsewhere, so every
    // sum stays exact in f32.
    let row = |i: usize, out: &mut [f32]| {
        out.fill(0.0);
        out[0] = i as f32;
        out[dim - 1] = i as f32;
    };
    let last = len as u32 - 1;
    let pairs: Vec<(u32, u32)> = (0..len as u32).map(|i| (i, last - i)).collect();
    let keys = gpu_keys_with(
        device,
        ShaderMetric::L1,
        Element::F32,
        (len, dim),
        &row,
        &pairs,
    );
    for (&(a, b), key) in pairs.iter().zip(keys) {
        assert_eq!(key, 2.0 * (a as f32 - b as f32).abs(), "pair ({a},{b})");
    }
    finish(gpu);
}

/// The check every test ends with can fail: a pipeline layout that lacks
/// bindings the shader uses is reported by the validation layer.
#[test]
fn validation_layer_reports_misuse() {
    let Some(gpu) = test_gpu() else { return };
    if !gpu.instance.validating() {
        eprintln!("SKIPPED validation self-test: the layer is not installed here");
        return;
    }
    let (name, spirv) = KernelKind::Distances.spirv(ShaderMetric::Dot, Element::F32);
    let kernel = gpu.devices[0].kernel(&name, spirv, 8);
    drop(kernel);
    let messages = gpu.instance.validation_messages();
    assert!(
        !messages.is_empty(),
        "a layout missing bindings 8..=10 went unreported"
    );
}

/// Exact top-k over 20,000 rows of 384 components: about 60,000 loop
/// iterations per invocation, within llvmpipe's budget only because rows
/// are read four words per iteration.
#[test]
fn top_k_over_many_long_rows() {
    let Some(gpu) = test_gpu() else { return };
    let mut rng = Lcg(3);
    let rows: Vec<Vec<f32>> = (0..20_000)
        .map(|_| (0..384).map(|_| (rng.next() * 6.0).round()).collect())
        .collect();
    let got = gpu_top_k(&gpu.devices[0], ShaderMetric::L2, &rows, &[0, 1], 10);
    for (query, got) in [0u32, 1].iter().zip(&got) {
        assert_eq!(
            got,
            &cpu_top_k(ShaderMetric::L2, &rows, *query, 10),
            "query {query}"
        );
    }
    finish(gpu);
}
