// Dot product, and Cosine on rows stored normalised: the key is the sum
// negated, so that lower is closer, as on the CPU (src/index/hnsw/metric.rs).
fn accumulate(acc: vec4<f32>, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return acc + a * b;
}

fn finish(sum: f32) -> f32 {
    return -sum;
}
