//! The machine's peak rate of the direct distance metrics' vector steps, for the roofline
//! of `flagship_compare roofline`: the step `acc = acc (+|max) |x - y|` (subtract, absolute
//! value, add or maximum: three vector operations per entry pair) with every operand in a
//! register, 16 independent accumulators, in the widest vector instructions the CPU has
//! (AVX-512: 8 f64 or 16 f32 lanes; AVX2: 4 or 8), on 1..=threads threads at once.
//!
//! An empty `asm!` block marks the `x` registers as rewritten after every round, so the
//! compiler cannot hoist `|x - y|` out of the loop; nothing else is between the operations.
//! Machines without AVX2 (or not x86_64) get `None`: the benchmark refuses rather than report
//! a scalar figure as the vector peak.

/// Which accumulation the step does.
#[derive(Clone, Copy, Debug)]
pub enum Acc {
    /// `acc + |x - y|` (cityblock, minkowski's sums, canberra's numerators).
    Add,
    /// `max(acc, |x - y|)` (chebyshev).
    Max,
}

/// Entry-pair steps per second (all threads together) of `acc` on `f32` (`single`) or f64
/// lanes, over `rounds` rounds of 16 vector steps per thread; `None` without AVX2.
pub fn peak_steps(acc: Acc, single: bool, threads: usize, rounds: u64) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        let wide = std::arch::is_x86_feature_detected!("avx512f");
        if !wide && !std::arch::is_x86_feature_detected!("avx2") {
            return None;
        }
        let lanes = match (wide, single) {
            (true, true) => 16,
            (true, false) | (false, true) => 8,
            (false, false) => 4,
        };
        let start = std::sync::Barrier::new(threads);
        let t = std::time::Instant::now();
        let sink: f64 = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        let max = matches!(acc, Acc::Max);
                        // SAFETY: the features were detected above.
                        unsafe {
                            match (wide, single, max) {
                                (true, true, false) => x86::avx512_ps::<false>(rounds),
                                (true, true, true) => x86::avx512_ps::<true>(rounds),
                                (true, false, false) => x86::avx512_pd::<false>(rounds),
                                (true, false, true) => x86::avx512_pd::<true>(rounds),
                                (false, true, false) => x86::avx2_ps::<false>(rounds),
                                (false, true, true) => x86::avx2_ps::<true>(rounds),
                                (false, false, false) => x86::avx2_pd::<false>(rounds),
                                (false, false, true) => x86::avx2_pd::<true>(rounds),
                            }
                        }
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
        });
        let secs = t.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        Some((threads as u64 * rounds * 16 * lanes) as f64 / secs)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (acc, single, threads, rounds);
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// One kernel per vector type: 16 accumulators, `x` rewritten (for the compiler) each
    /// round, the lanes of the sums returned so nothing is dead.
    macro_rules! kernel {
        ($name:ident, $feat:literal, $vec:ty, $reg:ident, $set1:ident, $sub:ident,
         $abs:expr, $add:ident, $max:ident, $store:ident, $lanes:literal, $elem:ty) => {
            #[target_feature(enable = $feat)]
            pub unsafe fn $name<const MAX: bool>(rounds: u64) -> f64 {
                let mut a: [$vec; 16] = [$set1(0.0); 16];
                let mut x: [$vec; 16] = std::array::from_fn(|k| $set1(k as $elem * 0.25));
                let y = $set1(0.5);
                for _ in 0..rounds {
                    for k in 0..16 {
                        let d = $abs($sub(x[k], y));
                        a[k] = if MAX { $max(a[k], d) } else { $add(a[k], d) };
                    }
                    for v in &mut x {
                        // SAFETY: an empty block; it only hides the value from the optimizer.
                        unsafe {
                            std::arch::asm!(
                                "/* {0} */",
                                inout($reg) * v,
                                options(pure, nomem, nostack)
                            )
                        };
                    }
                }
                let mut total = 0.0;
                for v in a {
                    let mut out = [0.0 as $elem; $lanes];
                    // SAFETY: `out` holds one vector.
                    unsafe { $store(out.as_mut_ptr(), v) };
                    total += out.iter().map(|&e| e as f64).sum::<f64>();
                }
                total
            }
        };
    }

    #[target_feature(enable = "avx2")]
    unsafe fn abs256_pd(v: __m256d) -> __m256d {
        _mm256_andnot_pd(_mm256_set1_pd(-0.0), v)
    }
    #[target_feature(enable = "avx2")]
    unsafe fn abs256_ps(v: __m256) -> __m256 {
        _mm256_andnot_ps(_mm256_set1_ps(-0.0), v)
    }

    kernel!(
        avx512_pd,
        "avx512f",
        __m512d,
        zmm_reg,
        _mm512_set1_pd,
        _mm512_sub_pd,
        _mm512_abs_pd,
        _mm512_add_pd,
        _mm512_max_pd,
        _mm512_storeu_pd,
        8,
        f64
    );
    kernel!(
        avx512_ps,
        "avx512f",
        __m512,
        zmm_reg,
        _mm512_set1_ps,
        _mm512_sub_ps,
        _mm512_abs_ps,
        _mm512_add_ps,
        _mm512_max_ps,
        _mm512_storeu_ps,
        16,
        f32
    );
    kernel!(
        avx2_pd,
        "avx2",
        __m256d,
        ymm_reg,
        _mm256_set1_pd,
        _mm256_sub_pd,
        abs256_pd,
        _mm256_add_pd,
        _mm256_max_pd,
        _mm256_storeu_pd,
        4,
        f64
    );
    kernel!(
        avx2_ps,
        "avx2",
        __m256,
        ymm_reg,
        _mm256_set1_ps,
        _mm256_sub_ps,
        abs256_ps,
        _mm256_add_ps,
        _mm256_max_ps,
        _mm256_storeu_ps,
        8,
        f32
    );
}
