// Manhattan: the key is the sum of absolute differences.
fn accumulate(acc: vec4<f32>, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return acc + abs(a - b);
}

fn finish(sum: f32) -> f32 {
    return sum;
}
