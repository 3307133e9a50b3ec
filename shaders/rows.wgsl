// The vectors, row-major, each row padded with zeros to `params.stride`
// vec4<u32> words (padding changes no metric). A device caps one storage
// buffer (llvmpipe: 128 MiB; NVIDIA: 4 GiB), so the rows are split over up
// to eight buffers of `params.rows_per_chunk` rows; unused bindings repeat
// the first buffer.
@group(0) @binding(0) var<storage, read> vectors0: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> vectors1: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> vectors2: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> vectors3: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> vectors4: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> vectors5: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> vectors6: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read> vectors7: array<vec4<u32>>;

// Where row `row` lives: (buffer, index of its first word).
fn locate(row: u32) -> vec2<u32> {
    let chunk = row / params.rows_per_chunk;
    return vec2<u32>(chunk, (row - chunk * params.rows_per_chunk) * params.stride);
}

// Word `index` of buffer `chunk`. The switch costs little on a GPU but
// runs every case on a SIMD CPU device (llvmpipe) whose lanes disagree,
// so `row_sum` reads buffer 0 directly when both rows are there.
fn load_from(chunk: u32, index: u32) -> vec4<u32> {
    switch chunk {
        case 0u: { return vectors0[index]; }
        case 1u: { return vectors1[index]; }
        case 2u: { return vectors2[index]; }
        case 3u: { return vectors3[index]; }
        case 4u: { return vectors4[index]; }
        case 5u: { return vectors5[index]; }
        case 6u: { return vectors6[index]; }
        default: { return vectors7[index]; }
    }
}

// Keys this workgroup computed: the graph kernels report it, so that the
// benchmark can compare the work per inserted point with the CPU's.
var<workgroup> evaluations: atomic<u32>;

// The key of row `y` against row `x`: lower is closer, never NaN (NaN
// becomes +inf and ranks last), as `Metric::key` on the CPU.
fn key(x: u32, y: u32) -> f32 {
    atomicAdd(&evaluations, 1u);
    let k = finish(row_sum(x, y));
    if (bitcast<u32>(k) & 0x7fffffffu) > 0x7f800000u {
        return bitcast<f32>(0x7f800000u);
    }
    return k;
}
