// uses: rows
// The key of every pair of rows in `pairs`, one invocation per pair: the
// kernel the tests hold against an f64 reference.
struct Params {
    rows_per_chunk: u32,
    stride: u32,
    count: u32,
}

@group(0) @binding(8) var<storage, read> params: Params;
@group(0) @binding(9) var<storage, read> pairs: array<vec2<u32>>;
@group(0) @binding(10) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x < params.count {
        let pair = pairs[id.x];
        out[id.x] = key(pair.x, pair.y);
    }
}
