//! Snapshots of the `dump` output (layers and lowered task graphs) for a few small graphs.

use chunkwise::{s, Array, SliceArg};
use chunkwise_ir::{dump, serial, Node};

fn nodes(arrays: &[&Array]) -> Vec<Node> {
    arrays.iter().map(|a| a.node().unwrap().clone()).collect()
}

fn lowered(n: &[Node]) -> String {
    chunkwise::compute::plan(n, Some(&chunkwise::PassManager::none()))
        .unwrap()
        .to_string()
}

#[test]
fn diamond_and_reduction() {
    let x = Array::random_uniform(&[6, 4], &[3, 2], 1).unwrap();
    let y = &x + 1.0;
    let d = (&y * 2.0) + (&y * 3.0);
    let m = d.sum(Some(&[0]), false).unwrap();
    let n = nodes(&[&m]);
    insta::assert_snapshot!("diamond_layers", dump::layers_text(&n));
    insta::assert_snapshot!("diamond_tasks", lowered(&n));
    insta::assert_snapshot!("diamond_dot", dump::layers_dot(&n));
}

#[test]
fn slice_of_huge_array_lowers_to_few_tasks() {
    let x = Array::full(&[1_000_000_000], &[1000], 1.5f64).unwrap();
    let y = x.slice(&[s(..100)]).unwrap().slice(&[s(5)]).unwrap();
    let n = nodes(&[&y]);
    insta::assert_snapshot!("huge_slice_layers", dump::layers_text(&n));
    insta::assert_snapshot!("huge_slice_tasks", lowered(&n));
}

#[test]
fn rechunk_transpose_matmul() {
    let a = Array::arange(0.0, 12.0, 1.0, 5).unwrap();
    let m = Array::concatenate(&[a.clone(), a.clone()], 0)
        .unwrap()
        .rechunk(&[8])
        .unwrap()
        .slice(&[
            SliceArg::Range {
                start: None,
                stop: None,
                step: Some(-2),
            },
            SliceArg::NewAxis,
        ])
        .unwrap();
    let p = m.t().unwrap().matmul(&m).unwrap();
    let n = nodes(&[&p]);
    insta::assert_snapshot!("matmul_layers", dump::layers_text(&n));
    insta::assert_snapshot!("matmul_tasks", lowered(&n));
}

#[test]
fn graph_files_round_trip() {
    let x = Array::random_uniform(&[10, 10], &[4, 5], 3).unwrap();
    let y = (&x.exp() - 1.0 / &x).mean(Some(&[1]), true).unwrap();
    let n = nodes(&[&y]);
    let json = serial::to_json(&n);
    insta::assert_snapshot!("graph_file", json);
    let back = serial::from_json(&json).unwrap();
    assert_eq!(back[0].id(), n[0].id());
    assert_eq!(dump::layers_text(&back), dump::layers_text(&n));
}
