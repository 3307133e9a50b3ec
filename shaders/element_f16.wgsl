// Rows of f16 components, eight to a vec4<u32> word, widened to f32 with
// unpack2x16float and summed in f32. Reading halves as u32 words needs no
// 16-bit storage capability (which llvmpipe and many NVIDIA drivers lack).
fn low_half(w: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn high_half(w: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
}

fn row_sum(x: u32, y: u32) -> f32 {
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < params.stride; i++) {
        let a = load(x, i);
        let b = load(y, i);
        acc = accumulate(acc, low_half(a), low_half(b));
        acc = accumulate(acc, high_half(a), high_half(b));
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}
