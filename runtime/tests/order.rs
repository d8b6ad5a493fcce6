//! Tests of the static ordering: validity, memory (max live values) and graph validation.

mod common;

use chunkwise_runtime::{order, Dag};
use common::*;

#[test]
fn tree_reduction_memory_is_depth_times_fan_in() {
    for (leaves, fan_in) in [(4usize.pow(8), 4usize), (100_000, 4), (1000, 2), (5000, 7)] {
        let (g, root) = tree_reduction(leaves, fan_in);
        let o = order(g.dag(), &[root]).unwrap();
        check_order(&g, &o, &[root]);
        let depth = (leaves as f64).log(fan_in as f64).ceil() as usize;
        let live = max_live(&g, &o, &[root]);
        assert!(
            live <= depth * (fan_in - 1) + 2,
            "leaves={leaves} fan_in={fan_in}: max live {live}, depth {depth}"
        );
    }
}

#[test]
fn tree_reduction_with_shuffled_ids() {
    // Same tree with task ids permuted (dependencies keep pointing to the right tasks).
    let (g, root) = tree_reduction(4096, 4);
    let n = g.n();
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let mut rng = Rng(7);
    for i in (1..n).rev() {
        perm.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut rows = vec![Vec::new(); n];
    for t in 0..n as u32 {
        rows[perm[t as usize] as usize] = g.row(t).iter().map(|&d| perm[d as usize]).collect();
    }
    let h = Graph::from_rows(&rows);
    let root = perm[root as usize];
    let o = order(h.dag(), &[root]).unwrap();
    check_order(&h, &o, &[root]);
    assert!(max_live(&h, &o, &[root]) <= 6 * 3 + 2);
}

#[test]
fn chains_then_reduce_memory_is_small() {
    let (g, root) = chains_then_reduce(10_000, 10, 4);
    let o = order(g.dag(), &[root]).unwrap();
    check_order(&g, &o, &[root]);
    let live = max_live(&g, &o, &[root]);
    assert!(live <= 7 * 3 + 3, "max live {live}");
    // the first chain is finished before the second one starts
    assert_eq!(
        &o[..10],
        &(0..10).map(|k| k * 10_000).collect::<Vec<u32>>()[..]
    );
}

#[test]
fn diamond() {
    // 0 -> {1, 2} -> 3
    let g = Graph::from_rows(&[vec![], vec![0], vec![0], vec![1, 2]]);
    let o = order(g.dag(), &[3]).unwrap();
    check_order(&g, &o, &[3]);
    assert_eq!(o[0], 0);
    assert_eq!(o[3], 3);
    assert!(max_live(&g, &o, &[3]) <= 3);

    // A wide diamond: a source, 10_000 maps, tree reduction of the maps.
    let mut g = Graph::new();
    let src = g.add(&[]);
    let mut level: Vec<u32> = (0..10_000).map(|_| g.add(&[src])).collect();
    while level.len() > 1 {
        level = level.chunks(4).map(|c| g.add(c)).collect();
    }
    let root = level[0];
    let o = order(g.dag(), &[root]).unwrap();
    check_order(&g, &o, &[root]);
    let live = max_live(&g, &o, &[root]);
    assert!(live <= 7 * 3 + 3, "max live {live}");

    // Stacked diamonds (a lattice): x_{k+1,i} = f(x_{k,i}, x_{k,i+1}).
    let width = 200;
    let mut g = Graph::new();
    let mut level: Vec<u32> = (0..width).map(|_| g.add(&[])).collect();
    while level.len() > 1 {
        level = level.windows(2).map(|w| g.add(w)).collect();
    }
    let root = level[0];
    let o = order(g.dag(), &[root]).unwrap();
    check_order(&g, &o, &[root]);
    let live = max_live(&g, &o, &[root]);
    assert!(live <= width + 2, "max live {live}");
}

#[test]
fn shared_inputs_of_two_reductions_are_released_early() {
    // x_i -> y_i and x_i -> z_i; outputs: sum tree of the y's and sum tree of the z's.
    // A plain DFS from the first output holds every x_i until the second reduction runs.
    let n = 4096;
    let mut g = Graph::new();
    let xs: Vec<u32> = (0..n).map(|_| g.add(&[])).collect();
    let ys: Vec<u32> = xs.iter().map(|&x| g.add(&[x])).collect();
    let zs: Vec<u32> = xs.iter().map(|&x| g.add(&[x])).collect();
    let mut roots = Vec::new();
    for mut level in [ys, zs] {
        while level.len() > 1 {
            level = level.chunks(4).map(|c| g.add(c)).collect();
        }
        roots.push(level[0]);
    }
    let o = order(g.dag(), &roots).unwrap();
    check_order(&g, &o, &roots);
    let live = max_live(&g, &o, &roots);
    assert!(live <= 2 * (6 * 3 + 2) + 2, "max live {live}");
}

#[test]
fn bigger_subgraph_first() {
    // 4 = f(0, 3) where 3 = g(1, 2): the big dependency (3) is computed first so the leaf 0
    // is not held meanwhile.
    let g = Graph::from_rows(&[vec![], vec![], vec![], vec![1, 2], vec![0, 3]]);
    let o = order(g.dag(), &[4]).unwrap();
    assert_eq!(o, vec![1, 2, 3, 0, 4]);
}

#[test]
fn unreachable_tasks_are_omitted_and_outputs_may_repeat() {
    let g = Graph::from_rows(&[vec![], vec![0], vec![0], vec![1, 1], vec![2]]);
    let o = order(g.dag(), &[3, 1, 3]).unwrap();
    assert_eq!(o, vec![0, 1, 3]);
    check_order(&g, &o, &[3, 1, 3]);
    assert_eq!(order(g.dag(), &[]).unwrap(), Vec::<u32>::new());
    let empty = Dag {
        offsets: &[0],
        deps: &[],
    };
    assert_eq!(order(empty, &[]).unwrap(), Vec::<u32>::new());
    let empty = Dag {
        offsets: &[],
        deps: &[],
    };
    assert_eq!(order(empty, &[]).unwrap(), Vec::<u32>::new());
}

#[test]
fn deep_chain_does_not_overflow_the_stack() {
    let n = 1_000_000;
    let mut g = Graph::new();
    g.add(&[]);
    for i in 1..n {
        g.add(&[i - 1]);
    }
    let o = order(g.dag(), &[n - 1]).unwrap();
    assert_eq!(o, (0..n).collect::<Vec<u32>>());
    // and in reverse layout: task i depends on i + 1
    let mut g = Graph::new();
    for i in 0..n {
        if i + 1 < n {
            g.add(&[i + 1]);
        } else {
            g.add(&[]);
        }
    }
    let o = order(g.dag(), &[0]).unwrap();
    assert_eq!(o, (0..n).rev().collect::<Vec<u32>>());
}

#[test]
fn random_dags_give_valid_orders() {
    let mut rng = Rng(42);
    for case in 0..200 {
        let n = 1 + rng.below(300) as usize;
        let g = random_dag(&mut rng, n, 5);
        let k = 1 + rng.below(5);
        let outs: Vec<u32> = (0..k).map(|_| rng.below(n as u64) as u32).collect();
        let o = order(g.dag(), &outs).unwrap_or_else(|e| panic!("case {case}: {e}"));
        check_order(&g, &o, &outs);
    }
}

#[test]
fn invalid_graphs_are_rejected() {
    let bad = |offsets: &[u32], deps: &[u32], outs: &[u32]| {
        let err = order(Dag { offsets, deps }, outs).unwrap_err();
        assert!(!err.0.is_empty());
        err.0
    };
    // offsets[n] != deps.len()
    bad(&[0, 1], &[0, 0], &[0]);
    // offsets[0] != 0
    bad(&[1, 1], &[0], &[0]);
    // decreasing offsets
    bad(&[0, 2, 1, 2], &[0, 0], &[0]);
    // dep out of range
    let msg = bad(&[0, 0, 1], &[5], &[1]);
    assert!(msg.contains("task 1"), "{msg}");
    // output out of range
    bad(&[0, 0], &[], &[1]);
    // cycle 1 -> 2 -> 1, reachable
    let msg = bad(&[0, 0, 1, 2, 3], &[2, 1, 2], &[3]);
    assert!(msg.contains("cycle"), "{msg}");
    // self loop
    bad(&[0, 1], &[0], &[0]);
    // a cycle that is not reachable from the outputs is fine
    assert_eq!(
        order(
            Dag {
                offsets: &[0, 0, 1, 2],
                deps: &[2, 1]
            },
            &[0]
        )
        .unwrap(),
        vec![0]
    );
}

#[test]
#[ignore = "slow: 10^7-task ordering (run with --ignored)"]
fn ten_million_tasks() {
    let (g, root) = chains_then_reduce(1_000_000, 10, 4);
    let t = std::time::Instant::now();
    let o = order(g.dag(), &[root]).unwrap();
    eprintln!("ordered {} tasks in {:?}", o.len(), t.elapsed());
    assert!(max_live(&g, &o, &[root]) < 64);
}
