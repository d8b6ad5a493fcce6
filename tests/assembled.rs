//! Results computed to memory are assembled block by block as the blocks are computed
//! (`compute::run_assembled`): the same values as joining all the blocks at the end, for
//! every dtype and chunking, with the memory of the array once; a final rechunk is dropped.

use chunkwise::compute::{plan, run_assembled, run_graph, without_final_rechunks, ComputeOptions};
use chunkwise::{Array, DType, Error};
use chunkwise_ir::Layer;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

/// The blocks of `y` joined at the end (the reference), and `y` computed.
fn both(y: &Array, threads: usize) -> (chunkwise_ir::DynArray, chunkwise_ir::DynArray) {
    let g = y.plan().unwrap();
    let opts = ComputeOptions {
        threads,
        ..ComputeOptions::default()
    };
    let blocks = chunkwise::compute::output_arrays(&g, run_graph(&g, &opts).unwrap()).unwrap();
    let node = y.node().unwrap();
    let joined = chunkwise::compute::assemble(node, blocks.into_iter().next().unwrap()).unwrap();
    let assembled = run_assembled(&g, &opts).unwrap().remove(0);
    (joined, assembled)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every chunking of a 3-d array, every dtype family, 1 to 4 threads.
    #[test]
    fn assembled_equals_joined_blocks(
        shape in prop::collection::vec(1u64..9, 3),
        chunk_seed in prop::collection::vec(1u64..9, 3),
        dtype in prop::sample::select(vec![DType::F64, DType::F32, DType::I32, DType::U8, DType::Bool, DType::C128]),
        threads in 1usize..5,
    ) {
        let chunks: Vec<u64> = shape.iter().zip(&chunk_seed).map(|(&s, &c)| c.min(s)).collect();
        let x = Array::random_uniform(&shape, &chunks, 7).unwrap();
        let y = (&x * 10.0 - 3.0).astype(dtype).unwrap();
        let (joined, assembled) = both(&y, threads);
        prop_assert_eq!(joined, assembled);
    }
}

#[test]
fn zero_dimensional_empty_and_one_block_arrays() {
    // A 0-d result (a reduction), an empty array, and a one-block array (kept as is).
    let x = Array::random_uniform(&[6, 4], &[2, 3], 1).unwrap();
    let total = x.sum(None, false).unwrap();
    let (a, b) = both(&total, 2);
    assert_eq!(a, b);
    assert_eq!(b.shape(), &[] as &[usize]);
    let empty = Array::zeros(&[0, 5], &[1, 2], DType::F64).unwrap();
    let (a, b) = both(&empty, 2);
    assert_eq!((a, b.shape()), (b.clone(), &[0usize, 5][..]));
    let one = Array::random_uniform(&[3, 3], &[3, 3], 2).unwrap();
    let (a, b) = both(&one, 1);
    assert_eq!(a, b);
}

#[test]
fn the_same_array_requested_twice_is_placed_in_both() {
    let x = Array::random_uniform(&[40, 30], &[7, 11], 3).unwrap();
    let y = (&x + 1.0).sin();
    let out = chunkwise::compute_all(&[&y, &x, &y], &ComputeOptions::default()).unwrap();
    let want = y.compute::<f64>().unwrap();
    assert_eq!(out[0].as_typed::<f64>().unwrap().to_owned(), want);
    assert_eq!(out[2], out[0]);
    assert_eq!(
        out[1],
        chunkwise_ir::DynArray::new(x.compute::<f64>().unwrap())
    );
}

#[test]
fn final_rechunks_are_dropped_for_assembled_results() {
    let x = Array::random_uniform(&[60, 50], &[6, 50], 4).unwrap();
    let y = x.rechunk(&[60, 5]).unwrap().rechunk(&[20, 20]).unwrap();
    assert!(matches!(y.node().unwrap().layer(), Layer::Rechunk { .. }));
    let stripped = without_final_rechunks(y.node().unwrap());
    assert_eq!(&stripped, x.node().unwrap());
    // The values are those of the rechunked array (they do not depend on the chunking).
    let got = y.compute::<f64>().unwrap();
    assert_eq!(got, x.compute::<f64>().unwrap());
    // A rechunk inside the graph stays.
    let z = &y + 1.0;
    assert_eq!(
        &without_final_rechunks(z.node().unwrap()),
        z.node().unwrap()
    );
}

#[test]
fn a_rows_to_columns_rechunk_fits_in_little_more_than_the_array() {
    // 8 MB of f64 in row blocks, rechunked to column blocks: every output block reads every
    // input block. Assembled in memory it needs the array once plus a block per worker
    // (8.8 MB is enough), where holding the blocks and the array took twice the array.
    let x = Array::random_uniform(&[1000, 1000], &[100, 1000], 5).unwrap();
    let y = x.rechunk(&[1000, 100]).unwrap();
    let opts = ComputeOptions {
        memory_limit: Some(8_800_000),
        threads: 2,
        ..ComputeOptions::default()
    };
    let got = y.compute_with::<f64>(&opts).unwrap();
    assert_eq!(got, x.compute::<f64>().unwrap());
    // Under the array's own size it is refused before anything runs.
    let tight = ComputeOptions {
        memory_limit: Some(7_999_999),
        ..opts
    };
    assert!(matches!(
        y.compute_with::<f64>(&tight),
        Err(Error::OutputsOverMemoryLimit { .. })
    ));
}

#[test]
fn a_block_that_does_not_fit_its_place_is_an_error_naming_the_output() {
    // A named closure returning blocks of the wrong shape: the assembly refuses them with a
    // task error, not a panic or a silently wrong array.
    let x = Array::random_uniform(&[8, 8], &[4, 4], 6).unwrap();
    let bad = x
        .map_blocks("shrink", |b: ndarray::ArrayViewD<'_, f64>| {
            ArrayD::from_shape_vec(IxDyn(&[1, 2]), b.iter().copied().take(2).collect()).unwrap()
        })
        .unwrap();
    let g = plan(&[bad.node().unwrap().clone()], None).unwrap();
    match run_assembled(&g, &ComputeOptions::default()) {
        Err(e @ Error::Task { .. }) => assert!(e.to_string().contains("shape"), "{e}"),
        other => panic!("expected a task error, got {other:?}"),
    }
}
