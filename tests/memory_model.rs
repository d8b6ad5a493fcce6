//! The memory model recorded on the task graph against what the backend really produces:
//! every task's value holds exactly the bytes its stage's figure says (reduction states
//! included: a var/std state is three arrays, not two).

use chunkwise::compute::{run_graph, ComputeOptions};
use chunkwise::{Array, DType, ReduceOp, Trace};
use chunkwise_ir::StageOp;

/// Runs `y` traced and checks every task's measured value bytes against its stage's
/// `value_bytes`; returns how many reduction-state tasks were checked.
fn check_value_bytes(y: &Array) -> usize {
    let g = y.plan().unwrap();
    let trace = Trace::new();
    run_graph(
        &g,
        &ComputeOptions {
            trace: Some(&trace),
            threads: 2,
            ..ComputeOptions::default()
        },
    )
    .unwrap();
    let mut states = 0;
    for e in trace.events() {
        let stage = &g.stages[g.task_stage[e.task as usize] as usize];
        assert_eq!(
            e.bytes, stage.memory.value_bytes,
            "{} block {:?}: measured {} bytes, model {}",
            e.label, e.block, e.bytes, stage.memory.value_bytes
        );
        if matches!(
            stage.op,
            StageOp::ReduceChunk | StageOp::ReduceCombine { .. }
        ) {
            states += 1;
        }
    }
    states
}

#[test]
fn every_reduction_state_holds_the_bytes_the_model_records() {
    // Uniform chunks (every block full), so every task's value is its stage's largest.
    let x = Array::random_uniform(&[40, 30, 8], &[10, 10, 4], 3).unwrap();
    let ops = ReduceOp::EVERY_KIND;
    for dtype in DType::ALL {
        let xt = x.astype(dtype).unwrap();
        for op in ops {
            if dtype.is_complex() && !op.takes_complex() {
                continue;
            }
            let arg = matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax);
            let axes: &[&[isize]] = if arg {
                &[&[0], &[1]]
            } else {
                &[&[0], &[1, 2], &[0, 2]]
            };
            for &ax in axes {
                // split_every 2 makes combine levels too.
                let y = xt.reduce(op, Some(ax), false, 2).unwrap();
                let states = check_value_bytes(&y);
                assert!(states > 0, "{op:?} {dtype} over {ax:?}: no state task");
            }
        }
    }
}

#[test]
fn var_state_is_three_arrays_of_the_reduced_block() {
    let x = Array::random_uniform(&[40, 30], &[10, 10], 3).unwrap();
    let y = x.var(Some(&[0]), false, 0).unwrap();
    let g = y.plan().unwrap();
    let chunk = g
        .stages
        .iter()
        .find(|s| s.op == StageOp::ReduceChunk)
        .expect("a per-chunk stage");
    // (count, mean, M2) per element of a 1 x 10 reduced block, 8 bytes each.
    assert_eq!(chunk.memory.value_bytes, 3 * 8 * 10);
    // 4 x 3 per-chunk states, combined by the aggregate step directly (4 <= split 4).
    assert_eq!(check_value_bytes(&y), 12);
}
