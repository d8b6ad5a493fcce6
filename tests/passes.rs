//! Tests of the optimization passes through the public API: the graphs of the passes'
//! snapshots (unit tests in `passes/src/`) keep their values, and task counts of the
//! standard pipeline on the cases of the passes issue.

use chunkwise::{s, Array, ComputeOptions, PassManager};
use chunkwise_ir::dump::layers_text;
use chunkwise_ir::Node;
use chunkwise_passes::blockwise_fusion::{BlockwiseFusion, FusionLimits};

fn node(a: &Array) -> Node {
    a.node().unwrap().clone()
}

fn x1d(n: u64, chunk: u64) -> Array {
    Array::random_uniform(&[n], &[chunk], 1).unwrap()
}

fn tasks(a: &Array) -> usize {
    a.plan().unwrap().len()
}

/// `a` computed from its graph as built (no passes).
fn plain(a: &Array) -> chunkwise::DynArray {
    a.compute_dyn_with(&ComputeOptions {
        passes: Some(&PassManager::none()),
        ..ComputeOptions::default()
    })
    .unwrap()
}

fn same_values(a: &Array) {
    assert_eq!(plain(a), a.compute_dyn().unwrap());
}

// ----- the graphs of the passes' snapshots keep their values -----
//
// The snapshots themselves (each pass's graph before and after) are unit tests next to the
// passes, in `passes/src/`, on the same graphs built with `chunkwise_ir` constructors.

#[test]
fn slice_fusion_keeps_values() {
    let x = x1d(1000, 100);
    let y = x.slice(&[s(..100)]).unwrap().slice(&[s(5)]).unwrap();
    let z = x
        .slice(&[s(10..50)])
        .unwrap()
        .slice(&[chunkwise::SliceArg::Range {
            start: None,
            stop: None,
            step: Some(-2),
        }])
        .unwrap();
    same_values(&y);
    same_values(&z);
}

#[test]
fn transpose_fusion_keeps_values() {
    let x = Array::random_uniform(&[4, 6, 8], &[2, 3, 4], 1).unwrap();
    let y = x
        .transpose(&[1, 2, 0])
        .unwrap()
        .transpose(&[1, 2, 0])
        .unwrap();
    same_values(&y);
}

#[test]
fn transpose_blockwise_keeps_values() {
    let m = Array::random_uniform(&[6, 6], &[3, 3], 2).unwrap();
    same_values(&(&m + &m.t().unwrap()));
    same_values(&m.t().unwrap().matmul(&m).unwrap());
}

#[test]
fn slice_pushdown_keeps_values() {
    let x = Array::random_uniform(&[1000, 1000], &[100, 100], 3).unwrap();
    let y = ((&x * 2.0).exp() + 1.0).slice(&[s(5), s(..10)]).unwrap();
    same_values(&y);
    same_values(&x.t().unwrap().slice(&[s(3), s(..5)]).unwrap());
    let a = Array::arange(0.0, 100.0, 1.0, 10).unwrap();
    let b = a
        .slice(&[chunkwise::SliceArg::Range {
            start: Some(90),
            stop: Some(10),
            step: Some(-4),
        }])
        .unwrap();
    same_values(&b);
}

#[test]
fn blockwise_fusion_keeps_values() {
    let x = x1d(100, 10);
    same_values(&((((&x + 1.0) * 2.0) - 3.0) / 4.0));
    let a = &x + 1.0;
    same_values(&(&a * 2.0 + &a * 3.0));
    let m = Array::random_uniform(&[6, 6], &[3, 3], 2).unwrap();
    same_values(&(&m + &m.t().unwrap()));
}

#[test]
fn root_and_reduction_fusion_keep_values() {
    let x = x1d(100, 10);
    same_values(&x.exp());
    same_values(&(x.exp() - 1.0 / &x).sum(None, false).unwrap());
}

#[test]
fn cse_keeps_values() {
    let e = x1d(100, 10).exp();
    same_values(&e.try_add(&e).unwrap());
}

#[test]
fn the_standard_pipeline_keeps_values() {
    let x = Array::random_uniform(&[400, 400], &[100, 100], 2026).unwrap();
    let a = (&x / 4.0).exp() - 1.0 / (&x + 1.0);
    let d = &a * (&x + 1.0) - (&x - 0.5).abs().sqrt();
    same_values(&d.mean(Some(&[0]), false).unwrap());
}

// ----- structural cases -----

#[test]
fn four_add_chain_over_two_blocks_is_two_tasks() {
    let x = Array::from_ndarray(ndarray::Array1::<f64>::linspace(0.0, 1.0, 20), &[10]).unwrap();
    let y = (((&x + 1.0) + 2.0) + 3.0) + 4.0;
    assert_eq!(y.plan_unoptimized().unwrap().len(), 10);
    assert_eq!(tasks(&y), 2);
    same_values(&y);
}

#[test]
fn diamond_of_ten_layers_is_one_layer() {
    let y = x1d(1000, 100);
    let a = ((&y + 1.0) * 2.0).exp();
    let b = (&y - 1.0).abs().sqrt();
    let d = (&a * &b) / (&a + &b);
    assert_eq!(d.num_layers().unwrap(), 10);
    let opt = d.optimize().unwrap();
    assert_eq!(opt.num_layers().unwrap(), 1);
    assert_eq!(tasks(&d), 10);
    same_values(&d);
}

#[test]
fn slice_of_slice_on_a_billion_elements_is_at_most_two_tasks() {
    let x = x1d(1_000_000_000, 1000) + 1.0;
    let y = x.slice(&[s(..100)]).unwrap().slice(&[s(5)]).unwrap();
    assert!(tasks(&y) <= 2, "{}", y.plan().unwrap());
    let first = x.slice(&[s(0)]).unwrap();
    assert!(tasks(&first) <= 2);
    let huge = Array::random_uniform(&[1 << 40], &[1000], 4).unwrap() * 2.0;
    assert!(tasks(&huge.slice(&[s(0)]).unwrap()) <= 2);
    same_values(&y);
}

#[test]
fn sum_of_a_ten_op_chain_is_one_task_per_block_plus_the_tree() {
    for n in [7u64, 64, 1000] {
        let x = x1d(n * 10, 10);
        let y = ((((((((((&x + 1.0) * 2.0) - 3.0) / 4.0) + &x) * &x) - 1.0) * 0.5) + 2.0) * 3.0)
            .sum(None, false)
            .unwrap();
        // Tree: split_every 4 -> ceil(n / 4) + ceil(n / 16) + ... + the aggregate.
        let mut tree = 0;
        let mut level = n;
        while level > 4 {
            level = level.div_ceil(4);
            tree += level;
        }
        assert_eq!(tasks(&y) as u64, n + tree + 1, "n = {n}");
    }
}

#[test]
fn fusion_stops_at_outputs_and_contractions() {
    let x = Array::random_uniform(&[20, 20], &[10, 10], 5).unwrap();
    let a = &x + 1.0;
    let b = &a * 2.0;
    let out = PassManager::standard().run(&[node(&a), node(&b)]).unwrap();
    // `a` is requested: it stays a layer that `b` reads.
    assert!(out.outputs[1]
        .inputs()
        .iter()
        .any(|m| m.id() == out.outputs[0].id()));
    let mm = (&x + 1.0).matmul(&x).unwrap();
    let opt = mm.optimize().unwrap();
    assert_eq!(
        opt.num_layers().unwrap(),
        3,
        "{}",
        layers_text(&[node(&opt)])
    );
    same_values(&mm);
}

#[test]
fn fusion_respects_memory_limits() {
    let x = x1d(100, 10);
    let y = ((&x + 1.0) * 2.0) - 3.0;
    let tight = BlockwiseFusion {
        limits: FusionLimits {
            max_inputs: 16,
            max_task_bytes: 100,
        },
    };
    let fused = chunkwise_passes::Pass::run(&tight, &[node(&y)]).unwrap();
    assert_eq!(chunkwise_ir::layer::dep_order(&fused).len(), 4);
    let loose = BlockwiseFusion::default();
    let fused = chunkwise_passes::Pass::run(&loose, &[node(&y)]).unwrap();
    assert_eq!(chunkwise_ir::layer::dep_order(&fused).len(), 2);
}

#[test]
fn explain_reports_every_pass() {
    let x = x1d(1000, 100);
    let y = (x.exp() - 1.0 / &x).sum(None, false).unwrap();
    let r = y.explain().unwrap();
    assert_eq!(r.initial.layers, 5);
    assert_eq!(r.last().layers, 1);
    assert_eq!(r.last().tasks, 10 + 3 + 1);
    assert!(r.unfinished.is_empty());
    let table = r.table();
    for name in PassManager::standard().pass_names() {
        assert!(table.contains(name), "{table}");
    }
}

#[test]
fn fused_reductions_over_large_blocks_match_unfused() {
    // Blocks of 2.4 MB: the fused per-chunk step computes them in slabs of rows.
    let x = Array::random_uniform(&[3000, 200], &[1500, 200], 9).unwrap();
    let z = Array::random_normal(&[3000, 200], &[1500, 200], 10).unwrap() * 2.0;
    let y = x.exp() - &z / 4.0 + &z;
    let cases: Vec<(Array, bool)> = vec![
        (y.sum(None, false).unwrap(), false),
        (y.mean(Some(&[0]), false).unwrap(), false),
        (y.var(Some(&[0]), true, 1).unwrap(), false),
        (y.max(None, false).unwrap(), true),
        (y.min(Some(&[0]), false).unwrap(), true),
        (y.argmax(Some(0)).unwrap(), true),
        (y.argmin(None).unwrap(), true),
        (y.sum(Some(&[1]), false).unwrap(), false),
    ];
    for (r, exact) in cases {
        assert_eq!(
            r.optimize().unwrap().num_layers().unwrap(),
            1,
            "{}",
            layers_text(&[node(&r.optimize().unwrap())])
        );
        let (a, b) = (plain(&r), r.compute_dyn().unwrap());
        if exact {
            assert_eq!(a, b);
        } else {
            let (a, b) = (a.as_typed::<f64>().unwrap(), b.as_typed::<f64>().unwrap());
            for (p, q) in a.iter().zip(b.iter()) {
                assert!((p - q).abs() <= 1e-12 * p.abs().max(1.0), "{p} vs {q}");
            }
        }
    }
}

#[test]
fn fused_programs_over_large_blocks_match_unfused() {
    // Blocks of 4.8 MB: a program whose inputs are inlined computes them in slabs of rows,
    // each input's part chosen through its indices (transposed, broadcast along either
    // axis, or a task's block read as it is).
    let x = Array::random_uniform(&[1200, 500], &[600, 500], 1).unwrap();
    let b = Array::random_uniform(&[500], &[500], 2).unwrap();
    let c = Array::random_normal(&[1200, 1], &[600, 1], 3).unwrap();
    let z = Array::random_uniform(&[500, 1200], &[500, 600], 4).unwrap();
    let w = Array::random_uniform(&[1200, 500], &[300, 500], 5)
        .unwrap()
        .rechunk(&[600, 500])
        .unwrap();
    let m = x.mean(Some(&[0]), true).unwrap();
    let f = Array::from_ndarray(
        ndarray::Array2::from_shape_fn((1200, 500), |(i, j)| (i * 3 + j) as f64),
        &[600, 500],
    )
    .unwrap();
    let y = ((&x * 2.0 + &b) - c.exp() + z.t().unwrap()) * &w - &m + &f;
    let y32 = y.astype(chunkwise::DType::F32).unwrap();
    for r in [&y, &y32] {
        let text = layers_text(&[node(&r.optimize().unwrap())]);
        assert!(text.contains("inline"), "{text}");
        same_values(r);
    }
}

// ----- cases restated from Dask's optimization tests -----

#[test]
fn array_creation_routines_fuse() {
    // dask: test_array_creation_blockwise_fusion (ones + zeros + full is one task).
    let x = Array::ones(&[3], &[3], chunkwise::DType::F64).unwrap();
    let y = Array::zeros(&[3], &[3], chunkwise::DType::F64).unwrap();
    let z = Array::full(&[3], &[3], 2.0).unwrap();
    let a = &x + &y + &z;
    assert_eq!(a.plan_unoptimized().unwrap().len(), 5);
    assert_eq!(tasks(&a), 1);
    assert_eq!(a.compute::<f64>().unwrap().as_slice().unwrap(), &[3.0; 3]);
}

#[test]
fn roots_fuse_into_their_consumers() {
    // dask: test_fuse_roots: one task per block for (x + 1) + (2 * y**2).
    let x = Array::ones(&[10], &[2], chunkwise::DType::F64).unwrap();
    let y = Array::zeros(&[10], &[2], chunkwise::DType::F64).unwrap();
    let z = (&x + 1.0) + (y.pow(2.0).unwrap() * 2.0);
    assert_eq!(tasks(&z), 5);
    same_values(&z);
}

#[test]
fn diamond_then_chain_is_one_task_per_block() {
    // dask: test_blockwise_diamond_fusion.
    let x = Array::ones(&[10], &[5], chunkwise::DType::F64).unwrap();
    let y = ((&x + 1.0) + 2.0) + 3.0;
    let c = &y * 2.0 + &y * 3.0;
    let d = ((&c + 1.0) + 2.0) + 3.0;
    assert_eq!(tasks(&d), 2);
    same_values(&d);
}

#[test]
fn a_layer_shared_with_a_reduction_stays_materialized() {
    // dask: test_blockwise_non_blockwise_output.
    let x = Array::ones(&[10], &[5], chunkwise::DType::F64).unwrap();
    let y = ((&x + 1.0) + 2.0) + 3.0;
    let w = y.sum(None, false).unwrap();
    let z = ((&y * 2.0) * 3.0) * 4.0;
    // z alone: one task per block.
    assert_eq!(tasks(&z), 2);
    // z and w together: y is computed once (2 tasks), then z (2) and the sum (2 + 1).
    let g = chunkwise::compute::plan(&[node(&z), node(&w)], None).unwrap();
    assert_eq!(g.len(), 2 + 2 + 2 + 1, "{g}");
    let out = chunkwise::compute_all(&[&z, &w], &ComputeOptions::default()).unwrap();
    assert_eq!(out[1].as_typed::<f64>().unwrap().iter().next(), Some(&70.0));
}

#[test]
fn outer_product_with_new_axes_is_one_task_per_block() {
    // dask: test_top_len: x[:, None] * x[None, :] has 4 tasks for 2 x 2 blocks.
    let x = Array::ones(&[10], &[5], chunkwise::DType::F64).unwrap();
    let y = x
        .slice(&[s(..), chunkwise::SliceArg::NewAxis])
        .unwrap()
        .try_mul(x.slice(&[chunkwise::SliceArg::NewAxis, s(..)]).unwrap())
        .unwrap();
    assert_eq!(y.shape(), vec![10, 10]);
    assert_eq!(tasks(&y), 4);
    same_values(&y);
    let r = Array::random_uniform(&[10], &[5], 1).unwrap();
    let outer = r
        .slice(&[s(..), chunkwise::SliceArg::NewAxis])
        .unwrap()
        .try_mul(r.slice(&[chunkwise::SliceArg::NewAxis, s(..)]).unwrap())
        .unwrap();
    same_values(&outer);
}

#[test]
fn identity_slices_and_slice_chains_vanish() {
    // dask: test_optimize_slicing / test_fuse_getitem.
    let x = Array::random_uniform(&[2000, 300], &[100, 100], 3).unwrap();
    let y = x
        .slice(&[s(..), s(..)])
        .unwrap()
        .slice(&[s(1000..2000), s(100..200)])
        .unwrap()
        .slice(&[s(15..20), s(50..60)])
        .unwrap();
    let opt = y.optimize().unwrap();
    assert_eq!(
        opt.num_layers().unwrap(),
        1,
        "{}",
        layers_text(&[node(&opt)])
    );
    assert_eq!(tasks(&y), 1);
    let direct = x.slice(&[s(1015..1020), s(150..160)]).unwrap();
    assert_eq!(y.compute_dyn().unwrap(), direct.compute_dyn().unwrap());
    let z = x.slice(&[s(1000..2000)]).unwrap().slice(&[s(10)]).unwrap();
    assert_eq!(
        z.compute_dyn().unwrap(),
        x.slice(&[s(1010)]).unwrap().compute_dyn().unwrap()
    );
}

#[test]
fn slices_move_below_transposes() {
    let x = Array::random_uniform(&[400, 300, 20], &[100, 100, 10], 8).unwrap();
    let y = x
        .transpose(&[2, 0, 1])
        .unwrap()
        .slice(&[s(3), s(10..20), chunkwise::SliceArg::NewAxis, s(5)])
        .unwrap();
    // The slice and the transpose end in the random source: one layer, one task.
    let opt = y.optimize().unwrap();
    assert_eq!(
        opt.num_layers().unwrap(),
        1,
        "{}",
        layers_text(&[node(&opt)])
    );
    assert_eq!(tasks(&y), 1);
    same_values(&y);
    let m = Array::random_uniform(&[50, 60], &[10, 10], 8).unwrap();
    let t = m
        .t()
        .unwrap()
        .slice(&[
            chunkwise::SliceArg::Range {
                start: Some(40),
                stop: Some(7),
                step: Some(-3),
            },
            s(3..50),
        ])
        .unwrap();
    same_values(&t);
    assert_eq!(tasks(&t), tasks(&t.optimize().unwrap()));
}

#[test]
fn deep_chains_fuse_and_slices_move_down_them_in_one_pass() {
    let x = x1d(1000, 100);
    let mut y = x.clone();
    for i in 0..2000 {
        y = &y + (i % 7) as f64 * 1e-3;
    }
    assert_eq!(tasks(&y), 10);
    same_values(&y);
    let z = y.slice(&[s(5)]).unwrap();
    let out = PassManager::standard()
        .with_stats(true)
        .run(&[node(&z)])
        .unwrap();
    assert!(out.report.unfinished.is_empty());
    let pushes = out
        .report
        .records
        .iter()
        .filter(|r| r.pass == "slice-pushdown" && r.changed)
        .count();
    assert_eq!(pushes, 1);
    assert_eq!(tasks(&z), 1);
    same_values(&z);
}

#[test]
fn task_fusion_keeps_values() {
    fn load(name: &String) -> Vec<u8> {
        name.as_bytes().to_vec()
    }
    #[allow(clippy::ptr_arg)] // delayed functions take `&T` for the stored `T`
    fn clean(raw: &Vec<u8>) -> usize {
        raw.len()
    }
    fn report(a: &usize, b: &usize) -> usize {
        a + b
    }
    let a = chunkwise::delayed::call1("load", load, "a".to_string());
    let ca = chunkwise::delayed::call1("clean", clean, &a);
    let b = chunkwise::delayed::call1("load", load, "bb".to_string());
    let cb = chunkwise::delayed::call1("clean", clean, &b);
    let r = chunkwise::delayed::call2("report", report, &ca, &cb);
    assert_eq!(*r.compute().unwrap(), 3);
}
