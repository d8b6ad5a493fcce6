//! Shared helpers for the integration tests.
#![allow(dead_code)]

use chunkwise_runtime::Dag;

/// A graph in owned CSR form.
#[derive(Default, Clone)]
pub struct Graph {
    pub offsets: Vec<u32>,
    pub deps: Vec<u32>,
}

impl Graph {
    pub fn new() -> Self {
        Graph {
            offsets: vec![0],
            deps: Vec::new(),
        }
    }

    pub fn from_rows(rows: &[Vec<u32>]) -> Self {
        let mut g = Graph::new();
        for r in rows {
            g.add(r);
        }
        g
    }

    /// Adds a task with the given dependencies, returns its id.
    pub fn add(&mut self, deps: &[u32]) -> u32 {
        self.deps.extend_from_slice(deps);
        self.offsets.push(self.deps.len() as u32);
        (self.offsets.len() - 2) as u32
    }

    pub fn n(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn row(&self, t: u32) -> &[u32] {
        &self.deps[self.offsets[t as usize] as usize..self.offsets[t as usize + 1] as usize]
    }

    pub fn dag(&self) -> Dag<'_> {
        Dag {
            offsets: &self.offsets,
            deps: &self.deps,
        }
    }
}

/// splitmix64
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Tree reduction with `fan_in` over `leaves` leaves; returns (graph, root).
pub fn tree_reduction(leaves: usize, fan_in: usize) -> (Graph, u32) {
    let mut g = Graph::new();
    let mut level: Vec<u32> = (0..leaves).map(|_| g.add(&[])).collect();
    while level.len() > 1 {
        level = level.chunks(fan_in).map(|c| g.add(c)).collect();
    }
    (g, level[0])
}

/// `chains` independent chains of `len` tasks feeding a tree reduction; returns (graph, root).
pub fn chains_then_reduce(chains: usize, len: usize, fan_in: usize) -> (Graph, u32) {
    let mut g = Graph::new();
    // Lay out level by level (all first tasks, then all second tasks, ...), the layout a
    // graph builder produces and the worst one for a breadth-first order.
    let mut level: Vec<u32> = (0..chains).map(|_| g.add(&[])).collect();
    for _ in 1..len {
        level = level.iter().map(|&t| g.add(&[t])).collect();
    }
    while level.len() > 1 {
        level = level.chunks(fan_in).map(|c| g.add(c)).collect();
    }
    (g, level[0])
}

/// Random DAG: task i depends on up to `max_deps` random earlier tasks (repeats allowed).
pub fn random_dag(rng: &mut Rng, n: usize, max_deps: u64) -> Graph {
    let mut g = Graph::new();
    let mut row = Vec::new();
    for i in 0..n as u64 {
        row.clear();
        if i > 0 {
            let k = rng.below(max_deps + 1);
            for _ in 0..k {
                // bias towards recent tasks so that graphs are deep
                let back = if rng.below(2) == 0 {
                    rng.below(i.min(8)) + 1
                } else {
                    rng.below(i) + 1
                };
                row.push((i - back) as u32);
            }
        }
        g.add(&row);
    }
    g
}

/// Simulates a single-threaded run in `order`: returns the maximum number of values held
/// at once (a task's value counts from when it runs until its last consumer has run;
/// outputs are held until the end).
pub fn max_live(g: &Graph, order: &[u32], outputs: &[u32]) -> usize {
    let n = g.n();
    let mut consumers = vec![0u32; n];
    for &t in order {
        for &d in g.row(t) {
            consumers[d as usize] += 1;
        }
    }
    let mut is_output = vec![false; n];
    for &o in outputs {
        is_output[o as usize] = true;
    }
    let (mut live, mut max) = (0usize, 0usize);
    for &t in order {
        live += 1;
        max = max.max(live);
        for &d in g.row(t) {
            consumers[d as usize] -= 1;
            if consumers[d as usize] == 0 && !is_output[d as usize] {
                live -= 1;
            }
        }
        if consumers[t as usize] == 0 && !is_output[t as usize] {
            live -= 1;
        }
    }
    max
}

/// Checks that `order` lists exactly the tasks reachable from `outputs`, once each, after
/// their dependencies.
pub fn check_order(g: &Graph, order: &[u32], outputs: &[u32]) {
    let n = g.n();
    let mut reach = vec![false; n];
    let mut stack: Vec<u32> = outputs.to_vec();
    while let Some(t) = stack.pop() {
        if !std::mem::replace(&mut reach[t as usize], true) {
            stack.extend_from_slice(g.row(t));
        }
    }
    let mut pos = vec![usize::MAX; n];
    for (i, &t) in order.iter().enumerate() {
        assert!(reach[t as usize], "task {t} is not needed");
        assert_eq!(pos[t as usize], usize::MAX, "task {t} listed twice");
        pos[t as usize] = i;
    }
    for t in 0..n {
        if reach[t] {
            assert_ne!(pos[t], usize::MAX, "task {t} missing");
            for &d in g.row(t as u32) {
                assert!(
                    pos[d as usize] < pos[t],
                    "task {t} before its dependency {d}"
                );
            }
        }
    }
}
