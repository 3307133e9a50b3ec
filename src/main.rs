//! The `vecforge` server: loads settings, opens storage (with the graph
//! builder the `gpu` settings ask for), serves REST. `vecforge gpu-info`
//! prints the Vulkan devices as the server would select them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use vecforge::api::auth::ApiKeys;
use vecforge::api::grpc;
use vecforge::api::rest::{self, RestOptions};
use vecforge::api::service::{CollectionDefaults, Service};
use vecforge::index::hnsw::{CpuBuilder, SharedBuilder};
use vecforge::optimizer::gpu::GpuCounters;
use vecforge::settings::{GpuConfig, Settings};
use vecforge::storage::Storage;

/// A vector database server that speaks Qdrant's API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A YAML file overlaid on the built-in and `config/` settings (the
    /// environment still wins).
    #[arg(long)]
    config_path: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print every Vulkan device, its capabilities, and whether the `gpu`
    /// settings select it for HNSW builds; then exit.
    GpuInfo,
}

fn main() -> anyhow::Result<()> {
    return_large_buffers_to_the_system();
    let args = Args::parse();
    let loaded = Settings::load(args.config_path.as_deref())?;
    let settings = loaded.settings.clone();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(settings.log_level.to_lowercase()))
        .context("parse log_level")?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    if let Some(Command::GpuInfo) = args.command {
        return gpu_info(&settings.gpu);
    }
    loaded.log_summary();

    let gpu = Arc::new(GpuCounters::default());
    let builder = graph_builder(&settings.gpu, gpu.clone());
    let storage = Arc::new(
        Storage::open_with(&settings.storage.storage_path, builder).context("open storage")?,
    );
    tracing::info!(path = %settings.storage.storage_path.display(), "storage ready");
    let service = Service {
        storage: storage.clone(),
        defaults: Arc::new(CollectionDefaults::from_settings(&settings)),
        gpu,
    };

    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if settings.service.max_workers > 0 {
        runtime.worker_threads(settings.service.max_workers);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let result = runtime.block_on(serve(&settings, service));
    // Flush every segment so the next start replays little WAL.
    storage.close();
    tracing::info!("storage closed");
    result
}

/// The GPU builder (with the CPU as fallback) when `gpu.indexing` is on,
/// else the CPU builder; the log says which and why.
fn graph_builder(config: &GpuConfig, counters: Arc<GpuCounters>) -> SharedBuilder {
    if !config.indexing {
        tracing::info!(
            "GPU indexing is off (gpu.indexing: false); HNSW graphs are built on the CPU"
        );
        return Arc::new(CpuBuilder);
    }
    #[cfg(feature = "gpu")]
    {
        Arc::new(vecforge::optimizer::gpu::GpuIndexer::start(
            config, counters,
        ))
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = counters;
        tracing::warn!(
            "gpu.indexing is on, but this binary was built without the `gpu` feature; HNSW graphs are built on the CPU"
        );
        Arc::new(CpuBuilder)
    }
}

/// `vecforge gpu-info`.
#[cfg(feature = "gpu")]
fn gpu_info(config: &GpuConfig) -> anyhow::Result<()> {
    use vecforge::gpu::Gpu;

    let (devices, selection) = match Gpu::probe(config) {
        Ok(found) => found,
        Err(error) => {
            println!("No Vulkan devices: {error}");
            return Ok(());
        }
    };
    if devices.is_empty() {
        println!("The Vulkan loader reports no devices.");
    }
    for (i, device) in devices.iter().enumerate() {
        let verdict = if selection.chosen.contains(&i) {
            "selected".to_owned()
        } else {
            let why = selection
                .rejected
                .iter()
                .find(|(r, _)| *r == i)
                .map_or("not selected", |(_, why)| why.as_str());
            format!("skipped: {why}")
        };
        println!(
            "[{}] {} ({}) — {verdict}",
            device.index, device.name, device.kind
        );
        println!(
            "    Vulkan {}, driver {}, subgroup {}..{}, f16 {}, int8 {}",
            device.vulkan_version,
            device.driver,
            device.subgroup_min,
            device.subgroup_max,
            device.f16,
            device.int8
        );
        println!(
            "    device memory {} MiB, max storage buffer {} MiB, max allocation {} MiB, shared memory {} KiB",
            device.memory_mb,
            device.max_storage_buffer_range >> 20,
            device.max_allocation >> 20,
            device.max_shared_memory >> 10
        );
    }
    println!(
        "gpu.indexing: {} ({} device(s) selected)",
        config.indexing,
        selection.chosen.len()
    );
    Ok(())
}

#[cfg(not(feature = "gpu"))]
fn gpu_info(_config: &GpuConfig) -> anyhow::Result<()> {
    println!("This binary was built without the `gpu` feature.");
    Ok(())
}

async fn serve(settings: &Settings, service: Service) -> anyhow::Result<()> {
    let options = RestOptions {
        max_request_size_bytes: settings.service.max_request_size_mb.saturating_mul(1 << 20),
        enable_cors: settings.service.enable_cors,
        api_keys: ApiKeys {
            full: settings.service.api_key.clone(),
            read_only: settings.service.read_only_api_key.clone(),
        },
    };
    let host: std::net::IpAddr = settings.service.host.parse().with_context(|| {
        format!(
            "service.host: {:?} is not an IP address",
            settings.service.host
        )
    })?;
    let addr = SocketAddr::new(host, settings.service.http_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind REST to {addr}"))?;
    tracing::info!(%addr, "REST API listening");

    // One signal stops both servers; each drains its requests.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let grpc = match settings.service.grpc_port {
        None => None,
        Some(port) => {
            let addr = SocketAddr::new(host, port);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("bind gRPC to {addr}"))?;
            tracing::info!(%addr, "gRPC API listening");
            let grpc_options = grpc::GrpcOptions {
                max_request_size_bytes: options.max_request_size_bytes,
                api_keys: options.api_keys.clone(),
            };
            let service = service.clone();
            let shutdown = until_stopped(stopped.clone());
            Some(tokio::spawn(async move {
                grpc::serve(service, &grpc_options, listener, shutdown).await
            }))
        }
    };
    let app = rest::router(service, &options);
    // As for gRPC: replies must not wait for the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let rest = axum::serve(listener, app).with_graceful_shutdown(until_stopped(stopped));
    rest.await.context("serve REST")?;
    if let Some(grpc) = grpc {
        grpc.await
            .context("gRPC server task")?
            .context("serve gRPC")?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Makes glibc serve every allocation of 128 KiB or more with its own
/// mapping, returned to the system when freed. By default glibc raises that
/// threshold each time such a buffer is freed (up to 32 MiB), after which
/// request bodies and parsed batches come from the per-thread arenas, which
/// keep what was freed: after a 100,000-point REST upload that was about
/// 20 MB of heap no longer in use (measured with `benches/scaling.py`: peak
/// PSS 212 → 188 MB). Must run before other threads allocate.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_buffers_to_the_system() {
    const THRESHOLD: libc::c_int = 128 * 1024;
    // SAFETY: `mallopt` only changes allocator tuning; it is called on the
    // main thread before any other thread exists, with a valid parameter.
    #[allow(unsafe_code)]
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
    if ok != 1 {
        eprintln!("warning: could not set the allocator's mmap threshold");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_buffers_to_the_system() {}
