// Euclid: the key is the squared distance (the root is monotonic).
fn accumulate(acc: vec4<f32>, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    let d = a - b;
    return acc + d * d;
}

fn finish(sum: f32) -> f32 {
    return sum;
}
