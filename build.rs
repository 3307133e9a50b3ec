//! Compiles the WGSL compute shaders in `shaders/` to SPIR-V with `naga`,
//! pure Rust, so a fresh machine builds with `cargo build` alone.
//!
//! A kernel file (`shaders/<kernel>.wgsl`) names the library files it needs
//! on its first line, `// uses: rows list`. Every kernel that reads vectors
//! is built once per metric (`metric_<m>.wgsl`: dot, l2, l1; Cosine uses dot
//! on normalised rows) and element type (`element_<e>.wgsl`: f32, f16), the
//! library text placed before the kernel's. naga validates each variant
//! here; the Vulkan validation layer checks the SPIR-V again when the tests
//! create the pipelines.
//!
//! Output: `$OUT_DIR/<kernel>-<metric>-<element>.spv` and
//! `$OUT_DIR/shaders.rs`, a table of `(kernel, metric, element, bytes)`
//! that `src/gpu/shaders.rs` includes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

const METRICS: [&str; 3] = ["dot", "l2", "l1"];
const ELEMENTS: [&str; 2] = ["f32", "f16"];
const KERNELS: [&str; 4] = ["distances", "top_k", "insert", "link"];

fn main() {
    let shaders = Path::new("shaders");
    println!("cargo:rerun-if-changed=shaders");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut table = String::from("pub(crate) static SHADERS: &[(&str, &str, &str, &[u8])] = &[\n");
    if env::var_os("CARGO_FEATURE_GPU").is_some() {
        for kernel in KERNELS {
            let source = read(&shaders.join(format!("{kernel}.wgsl")));
            let uses = uses(&source);
            for metric in METRICS {
                for element in ELEMENTS {
                    let mut text = String::new();
                    for library in &uses {
                        let file = match library.as_str() {
                            "rows" => vec![
                                format!("metric_{metric}.wgsl"),
                                format!("element_{element}.wgsl"),
                                "rows.wgsl".to_owned(),
                            ],
                            other => vec![format!("{other}.wgsl")],
                        };
                        for file in file {
                            text.push_str(&read(&shaders.join(file)));
                            text.push('\n');
                        }
                    }
                    text.push_str(&source);
                    let name = format!("{kernel}-{metric}-{element}");
                    let words = compile(&name, &text);
                    let path = out.join(format!("{name}.spv"));
                    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                    fs::write(&path, bytes).expect("write SPIR-V");
                    writeln!(
                        table,
                        "    ({kernel:?}, {metric:?}, {element:?}, include_bytes!({:?})),",
                        path.display().to_string()
                    )
                    .expect("format");
                }
            }
        }
    }
    table.push_str("];\n");
    fs::write(out.join("shaders.rs"), table).expect("write shaders.rs");
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The library names on a kernel's `// uses:` first line.
fn uses(source: &str) -> Vec<String> {
    source
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("// uses:"))
        .map(|list| list.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn compile(name: &str, text: &str) -> Vec<u32> {
    let module = naga::front::wgsl::parse_str(text)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(text)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        // unpack2x16float (GLSL.std.450 UnpackHalf2x16) needs only the
        // Shader capability in SPIR-V; naga gates it behind this flag.
        naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32,
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(text)));
    let options = naga::back::spv::Options {
        lang_version: (1, 3),
        flags: naga::back::spv::WriterFlags::empty(),
        // Every kernel initialises the workgroup memory it reads.
        zero_initialize_workgroup_memory: naga::back::spv::ZeroInitializeWorkgroupMemoryMode::None,
        bounds_check_policies: naga::proc::BoundsCheckPolicies {
            index: naga::proc::BoundsCheckPolicy::Restrict,
            buffer: naga::proc::BoundsCheckPolicy::Restrict,
            image_load: naga::proc::BoundsCheckPolicy::Restrict,
            binding_array: naga::proc::BoundsCheckPolicy::Restrict,
        },
        ..Default::default()
    };
    let pipeline = naga::back::spv::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: "main".to_owned(),
    };
    naga::back::spv::write_vec(&module, &info, &options, Some(&pipeline))
        .unwrap_or_else(|e| panic!("{name}: SPIR-V: {e}"))
}
