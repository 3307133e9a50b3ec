//! Building a graph on a Vulkan device: batched insertion, as the CPU
//! builder does it, with each batch's points searched in parallel on the
//! GPU.
//!
//! The first `cpu_prefix` points go in on the CPU, one at a time, so the
//! top of the graph is not shaped by hundreds of points inserted at once
//! into a near-empty graph. The tables are then uploaded and the rest go
//! in batches of `groups` points, one workgroup per point
//! (`shaders/insert.wgsl`): each walks down from the entry point, runs the
//! beam search of `ef_construct` on every layer of its level, picks its
//! neighbours with the heuristic and writes its own links. Links back from
//! those neighbours cannot be written there (several points may pick the
//! same neighbour), so they come back as patches, which the host groups by
//! (neighbour, layer) in batch order and `shaders/link.wgsl` applies, one
//! workgroup per group, as `GraphUnderConstruction::link_back` does. After
//! the last batch the tables come back and become an [`HnswGraph`], the
//! same format every builder produces.
//!
//! Points of one batch do not see each other, which is the price of the
//! parallelism; with `groups = 1` every batch is one point and, on vectors
//! whose distances are exact in f32, the graph is the CPU builder's
//! single-threaded graph word for word (the tests hold it to that).

#![deny(unsafe_code)]

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::builder::{check, insertion_order, SEQUENTIAL_PREFIX};
use super::building::{GraphParts, GraphUnderConstruction};
use super::error::IndexError;
use super::graph::HnswGraph;
use super::metric::Metric;
use super::params::HnswParams;
use super::vectors::VectorSource;
use crate::gpu::{
    fault, Buffer, Device, Element, GpuError, KernelKind, MemoryLocation, Rows, ShaderMetric,
};
use crate::index::distance::Distance;
use crate::segment::point_id::PointOffset;

/// Limits of the kernels' workgroup arrays (`shaders/list.wgsl`,
/// `shaders/link.wgsl`).
pub const MAX_EF: usize = 512;
pub const MAX_LINKS_GPU: usize = 128;
/// Nodes must fit 30 bits.
pub const MAX_POINTS: usize = 1 << 30;

/// Why a GPU build did not produce a graph.
#[derive(Debug)]
pub enum GpuBuildError {
    /// The device failed or cannot take this build: build on the CPU.
    Gpu(GpuError),
    /// Not a device problem (cancelled, invalid input): the CPU would fail
    /// the same way.
    Index(IndexError),
}

impl From<GpuError> for GpuBuildError {
    fn from(error: GpuError) -> Self {
        GpuBuildError::Gpu(error)
    }
}

impl From<IndexError> for GpuBuildError {
    fn from(error: IndexError) -> Self {
        GpuBuildError::Index(error)
    }
}

/// How one GPU build runs.
#[derive(Debug, Clone)]
pub struct GpuBuildOptions {
    /// Points inserted in parallel per batch (`gpu.groups_count`).
    pub groups: usize,
    /// Points inserted on the CPU before the GPU takes over.
    pub cpu_prefix: usize,
    /// A batch is at most `1 / growth` of the points already inserted.
    pub growth: usize,
    /// Store rows as f16 on the device (`gpu.force_half_precision`).
    pub half_precision: bool,
    /// Which of the device's queues to use.
    pub queue: usize,
    /// Bound on one submission.
    pub timeout: Duration,
}

impl Default for GpuBuildOptions {
    fn default() -> Self {
        GpuBuildOptions {
            groups: 512,
            cpu_prefix: SEQUENTIAL_PREFIX,
            growth: 16,
            half_precision: false,
            queue: 0,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Counters of one GPU build, for logs and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct GpuBuildStats {
    pub cpu_points: usize,
    pub gpu_points: usize,
    pub batches: usize,
    /// Keys the GPU kernels computed (the CPU prefix's are not counted).
    pub gpu_distance_evaluations: u64,
    pub seconds: f64,
}

/// Builds a graph over `vectors` on `device`; the arguments are those of
/// [`super::GraphBuilder::build`].
#[allow(clippy::too_many_arguments)]
pub fn build_on_gpu(
    device: &Device,
    options: &GpuBuildOptions,
    vectors: &dyn VectorSource,
    distance: Distance,
    params: &HnswParams,
    indexed: &(dyn Fn(PointOffset) -> bool + Sync),
    cancel: &AtomicBool,
    progress: &dyn Fn(usize),
) -> Result<(HnswGraph, GpuBuildStats), GpuBuildError> {
    params.validate()?;
    let started = Instant::now();
    let n = vectors.len();
    if n >= MAX_POINTS {
        // The kernels keep two flag bits beside each node (list.wgsl).
        return Err(GpuError::Unsupported(format!(
            "{n} points: a GPU build takes fewer than {MAX_POINTS}"
        ))
        .into());
    }
    if params.ef_construct > MAX_EF || params.m0 > MAX_LINKS_GPU || params.m > MAX_LINKS_GPU {
        return Err(GpuError::Unsupported(format!(
            "the GPU kernels take ef_construct <= {MAX_EF} and m, m0 <= {MAX_LINKS_GPU}; got {}, {}, {}",
            params.ef_construct, params.m, params.m0
        ))
        .into());
    }
    let (order, levels) = insertion_order(n, params, indexed);
    let metric = Metric(distance);
    let graph = GraphUnderConstruction::new(vectors, metric, params, levels);
    let prefix = order.len().min(options.cpu_prefix.max(1));
    for (done, &node) in order[..prefix].iter().enumerate() {
        if done % 1024 == 0 {
            check(cancel)?;
        }
        graph.insert(node);
    }
    progress(prefix);
    let parts = graph.into_parts();
    let mut stats = GpuBuildStats {
        cpu_points: prefix,
        ..GpuBuildStats::default()
    };
    let rest = &order[prefix..];
    let graph = if rest.is_empty() {
        finish(params, distance, parts)
    } else {
        let mut run = GpuRun::new(device, options, vectors, distance, params, &parts)?;
        let mut entry = parts.entry.expect("the prefix inserted at least one point");
        let mut done = prefix;
        let mut last_log = Instant::now();
        let mut start = 0;
        while start < rest.len() {
            check(cancel)?;
            if start >= rest.len() / 2 {
                fault::at(fault::Point::Build)?;
                fault::at(fault::Point::Lost)?;
            }
            let len = batch_len(options, done).min(rest.len() - start);
            let batch = &rest[start..start + len];
            start += len;
            run.insert(batch, entry)?;
            for &node in batch {
                let level = usize::from(parts.levels[node as usize]);
                if level > entry.1 {
                    entry = (node, level);
                }
            }
            done += batch.len();
            stats.batches += 1;
            progress(done);
            if last_log.elapsed() > Duration::from_secs(5) {
                last_log = Instant::now();
                tracing::info!(
                    points = done,
                    total = order.len(),
                    device = %device.info().name,
                    "HNSW GPU build progress"
                );
            }
        }
        stats.gpu_distance_evaluations = run.evaluations();
        let (layer0, upper) = run.download()?;
        stats.gpu_points = rest.len();
        HnswGraph::from_built(
            params,
            distance,
            Some((PointOffset(entry.0), entry.1)),
            layer0,
            parts.upper_offsets,
            upper,
        )
    };
    check(cancel)?;
    stats.seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        points = order.len(),
        cpu_points = stats.cpu_points,
        gpu_points = stats.gpu_points,
        batches = stats.batches,
        seconds = stats.seconds,
        device = %device.info().name,
        "HNSW graph built on the GPU"
    );
    Ok((graph, stats))
}

/// Points in the next batch when `inserted` are in the graph: `groups`,
/// but at most `1 / growth` of the graph, so that a batch never makes up a
/// large share of what it is inserted into.
fn batch_len(options: &GpuBuildOptions, inserted: usize) -> usize {
    (inserted / options.growth.max(1)).clamp(1, options.groups.max(1))
}

fn finish(params: &HnswParams, distance: Distance, parts: GraphParts) -> HnswGraph {
    HnswGraph::from_built(
        params,
        distance,
        parts.entry.map(|(node, level)| (PointOffset(node), level)),
        parts.layer0,
        parts.upper_offsets,
        parts.upper,
    )
}

fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn to_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect()
}

/// The device state of one build.
struct GpuRun<'a> {
    stream: crate::gpu::Stream,
    insert: crate::gpu::Kernel,
    link: crate::gpu::Kernel,
    rows: Rows,
    params: &'a HnswParams,
    n: u32,
    layer0: Buffer,
    upper: Buffer,
    upper_words: u64,
    upper_offsets: Buffer,
    levels: Buffer,
    insert_params: Buffer,
    link_params: Buffer,
    batch: Buffer,
    visited: Buffer,
    touched: Buffer,
    patches: Buffer,
    patch_counts: Buffer,
    groups: Buffer,
    items: Buffer,
    /// Word 0 counts the keys the kernels computed.
    stats: Buffer,
    evaluations: u64,
    device_name: String,
    visited_words: u32,
    touched_cap: u32,
    patch_cap: u32,
}

impl<'a> GpuRun<'a> {
    fn new(
        device: &'a Device,
        options: &GpuBuildOptions,
        vectors: &dyn VectorSource,
        distance: Distance,
        params: &'a HnswParams,
        parts: &GraphParts,
    ) -> Result<Self, GpuError> {
        let n = vectors.len();
        let info = device.info();
        let max_range = info.max_storage_buffer_range.min(info.max_allocation);
        let too_big = |what: &str, bytes: u64| {
            if bytes > max_range {
                Err(GpuError::Unsupported(format!(
                    "{what} needs {bytes} bytes in one buffer; {} allows {max_range}",
                    info.name
                )))
            } else {
                Ok(())
            }
        };
        let upper_words = *parts.upper_offsets.last().unwrap_or(&0);
        too_big("layer 0", (parts.layer0.len() * 4) as u64)?;
        too_big("the upper layers", upper_words * 4)?;
        if upper_words > u64::from(u32::MAX) {
            return Err(GpuError::Unsupported(
                "upper layers exceed 2^32 words".to_owned(),
            ));
        }
        let groups = options.groups.max(1);
        let metric = match distance {
            Distance::Cosine | Distance::Dot => ShaderMetric::Dot,
            Distance::Euclid => ShaderMetric::L2,
            Distance::Manhattan => ShaderMetric::L1,
        };
        let element = if options.half_precision || vectors.as_dense_f16().is_some() {
            Element::F16
        } else {
            Element::F32
        };
        let mut stream = device.stream(options.queue, options.timeout)?;
        fault::at(fault::Point::Upload)?;
        let rows = Rows::upload(device, &mut stream, n, vectors.dim(), element, &|i, out| {
            out.copy_from_slice(&vectors.vector(PointOffset(i as u32)))
        })?;
        let (name, spirv) = KernelKind::Insert.spirv(metric, element);
        let insert = device.kernel(&name, spirv, KernelKind::Insert.bindings())?;
        let (name, spirv) = KernelKind::Link.spirv(metric, element);
        let link = device.kernel(&name, spirv, KernelKind::Link.bindings())?;

        let gpu_only = |name: &str, bytes: u64| device.buffer(name, bytes, MemoryLocation::GpuOnly);
        let to_gpu = |name: &str, bytes: u64| device.buffer(name, bytes, MemoryLocation::CpuToGpu);
        let to_cpu = |name: &str, bytes: u64| device.buffer(name, bytes, MemoryLocation::GpuToCpu);

        let layer0 = gpu_only("layer0", (parts.layer0.len() * 4) as u64)?;
        stream.upload(&layer0, 0, &words(&parts.layer0))?;
        let upper = gpu_only("upper", upper_words * 4)?;
        stream.upload(&upper, 0, &words(&parts.upper))?;
        let offsets: Vec<u32> = parts.upper_offsets[..n].iter().map(|&o| o as u32).collect();
        let upper_offsets = gpu_only("upper_offsets", (n * 4) as u64)?;
        stream.upload(&upper_offsets, 0, &words(&offsets))?;
        let level_words: Vec<u32> = parts.levels.iter().map(|&l| u32::from(l)).collect();
        let levels = gpu_only("levels", (n * 4) as u64)?;
        stream.upload(&levels, 0, &words(&level_words))?;

        let visited_words = n.div_ceil(32) as u32;
        let visited = gpu_only("visited", groups as u64 * u64::from(visited_words) * 4)?;
        too_big("the visited sets", visited.size())?;
        stream.fill(&visited, 0)?;
        let touched_cap = (params.ef_construct * (params.m0 + 1)).clamp(64, n.max(64)) as u32;
        let touched = gpu_only("touched", groups as u64 * u64::from(touched_cap) * 4)?;
        let max_level = parts.levels.iter().copied().max().unwrap_or(0) as usize;
        let patch_cap = (params.m0 + max_level * params.m) as u32;
        let patches = to_cpu("patches", groups as u64 * u64::from(patch_cap) * 16)?;
        let patch_counts = to_cpu("patch_counts", groups as u64 * 4)?;
        let groups_buffer = to_gpu("link groups", groups as u64 * u64::from(patch_cap) * 16)?;
        let items = to_gpu("link items", groups as u64 * u64::from(patch_cap) * 8)?;
        Ok(GpuRun {
            stream,
            insert,
            link,
            params,
            n: n as u32,
            layer0,
            upper,
            upper_words,
            upper_offsets,
            levels,
            insert_params: to_gpu("insert params", 11 * 4)?,
            link_params: to_gpu("link params", 6 * 4)?,
            batch: to_gpu("batch", groups as u64 * 4)?,
            visited,
            touched,
            patches,
            patch_counts,
            groups: groups_buffer,
            items,
            stats: {
                let mut stats = device.buffer("stats", 16, MemoryLocation::GpuToCpu)?;
                stats.write(0, &[0; 16]);
                stats
            },
            evaluations: 0,
            device_name: info.name.clone(),
            rows,
            visited_words,
            touched_cap,
            patch_cap,
        })
    }

    /// Inserts `batch` with the graph entered at `entry` (node, level).
    fn insert(&mut self, batch: &[u32], entry: (u32, usize)) -> Result<(), GpuError> {
        let p = self.params;
        self.insert_params.write(
            0,
            &words(&[
                self.rows.rows_per_chunk,
                self.rows.stride,
                self.n,
                p.m as u32,
                p.m0 as u32,
                p.ef_construct as u32,
                entry.0,
                entry.1 as u32,
                self.visited_words,
                self.touched_cap,
                self.patch_cap,
            ]),
        );
        self.batch.write(0, &words(batch));
        let vectors = self.rows.bindings();
        let mut bindings: Vec<&Buffer> = vectors.to_vec();
        bindings.extend([
            &self.insert_params,
            &self.layer0,
            &self.upper,
            &self.upper_offsets,
            &self.levels,
            &self.batch,
            &self.visited,
            &self.touched,
            &self.patches,
            &self.patch_counts,
            &self.stats,
        ]);
        self.stream
            .dispatch(&self.insert, &bindings, [batch.len() as u32, 1, 1])?;

        if self.stats.read()[4..8] != [0; 4] {
            // Cut-short searches: their patches cannot be trusted.
            return self.collect_stats();
        }
        // Group the patches by (neighbour, layer), batch order kept.
        let counts = to_words(&self.patch_counts.read()[..batch.len() * 4]);
        let patches = to_words(self.patches.read());
        let mut links: Vec<(u32, u32, u32, u32)> = Vec::new();
        for (g, &count) in counts.iter().enumerate() {
            let base = g * self.patch_cap as usize * 4;
            for k in 0..count as usize {
                let patch = &patches[base + k * 4..base + k * 4 + 4];
                // (neighbour, layer, new point, key bits); the sort below is
                // stable, so each group's items stay in batch order.
                links.push((patch[0], patch[1], batch[g], patch[2]));
            }
        }
        if links.is_empty() {
            return self.collect_stats();
        }
        links.sort_by_key(|&(neighbour, layer, _, _)| (neighbour, layer));
        let mut groups: Vec<u32> = Vec::new();
        let mut items: Vec<u32> = Vec::with_capacity(links.len() * 2);
        for (i, &(neighbour, layer, new, key)) in links.iter().enumerate() {
            let starts = i == 0 || (links[i - 1].0, links[i - 1].1) != (neighbour, layer);
            if starts {
                groups.extend([neighbour, layer, i as u32, 0]);
            }
            let count = groups.len() - 1;
            groups[count] += 1;
            items.extend([new, key]);
        }
        let group_count = (groups.len() / 4) as u32;
        self.groups.write(0, &words(&groups));
        self.items.write(0, &words(&items));
        self.link_params.write(
            0,
            &words(&[
                self.rows.rows_per_chunk,
                self.rows.stride,
                self.n,
                p.m as u32,
                p.m0 as u32,
                group_count,
            ]),
        );
        let mut bindings: Vec<&Buffer> = vectors.to_vec();
        bindings.extend([
            &self.link_params,
            &self.layer0,
            &self.upper,
            &self.upper_offsets,
            &self.levels,
            &self.groups,
            &self.items,
            &self.stats,
        ]);
        let x = group_count.min(65_535);
        let y = group_count.div_ceil(x);
        self.stream.dispatch(&self.link, &bindings, [x, y, 1])?;
        self.collect_stats()
    }

    /// Keys computed so far.
    fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Moves the kernels' 32-bit count into the 64-bit total, and fails if
    /// a kernel reported loops cut short.
    fn collect_stats(&mut self) -> Result<(), GpuError> {
        let words = to_words(&self.stats.read()[..8]);
        self.evaluations += u64::from(words[0]);
        self.stats.write(0, &[0; 8]);
        if words[1] != 0 {
            return Err(GpuError::Unsupported(format!(
                "{} cut a shader loop short (llvmpipe ends an invocation's loops after 65,535 iterations); lower ef_construct or use a GPU",
                self.device_name
            )));
        }
        Ok(())
    }

    /// The link tables, back on the host.
    fn download(mut self) -> Result<(Vec<u32>, Vec<u32>), GpuError> {
        #[cfg(test)]
        {
            // Every group clears the visited bits it set.
            let visited = to_words(
                &self
                    .stream
                    .download(&self.visited, 0, self.visited.size())?,
            );
            let stale = visited.iter().filter(|&&w| w != 0).count();
            assert_eq!(stale, 0, "{stale} visited words left set");
        }
        let layer0 = to_words(&self.stream.download(&self.layer0, 0, self.layer0.size())?);
        let layer0_words = self.n as usize * (1 + self.params.m0);
        let upper = to_words(&self.stream.download(&self.upper, 0, self.upper_words * 4)?);
        Ok((layer0[..layer0_words].to_vec(), upper))
    }
}
