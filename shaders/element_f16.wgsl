// Rows of f16 components, eight to a vec4<u32> word, widened to f32 with
// unpack2x16float and summed in f32. Reading halves as u32 words needs no
// 16-bit storage capability (which llvmpipe and many NVIDIA drivers lack).
fn low_half(w: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn high_half(w: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
}

fn accumulate_words(acc: vec4<f32>, a: vec4<u32>, b: vec4<u32>) -> vec4<f32> {
    return accumulate(accumulate(acc, low_half(a), low_half(b)), high_half(a), high_half(b));
}

// Two words (16 halves) per iteration, for llvmpipe's loop budget (see
// element_f32.wgsl).
fn row_sum(x: u32, y: u32) -> f32 {
    let a = locate(x);
    let b = locate(y);
    let s = params.stride;
    var acc = vec4<f32>(0.0);
    var i = 0u;
    if a.x == 0u && b.x == 0u {
        for (; i + 2u <= s; i += 2u) {
            acc = accumulate_words(acc, vectors0[a.y + i], vectors0[b.y + i]);
            acc = accumulate_words(acc, vectors0[a.y + i + 1u], vectors0[b.y + i + 1u]);
        }
        for (; i < s; i++) {
            acc = accumulate_words(acc, vectors0[a.y + i], vectors0[b.y + i]);
        }
    } else {
        for (; i < s; i++) {
            acc = accumulate_words(acc, load_from(a.x, a.y + i), load_from(b.x, b.y + i));
        }
    }
    return (acc.x + acc.y) + (acc.z + acc.w);
}
