//! Grouping the tasks of a lowered graph into *engine tasks*: the units a remote engine
//! (Dask distributed) schedules, each a sub-graph run by chunkwise's own runtime.
//!
//! An engine costs milliseconds per task where chunkwise's runtime costs a fraction of a
//! microsecond, so an engine task must hold enough work (≥ 100 ms by default) to make the
//! engine's cost small; and it must fit a worker's memory. [`partition`] walks the tasks in
//! the runtime's static order (depth first, finishing what frees memory first) and places
//! each task:
//! - reading nothing from other groups (sources, elementwise chains, per-chunk reduction
//!   states, contractions of inlined sources): in the open *own* group, which closes once
//!   its estimated work reaches the target or the bytes it receives and hands on reach the
//!   memory bound;
//! - reading one group only, which is not yet twice the target: in that group (the rest of
//!   a chain, a reduction along the blocks one group computed);
//! - reading several groups (a combine over states of several groups, a rechunk's
//!   exchange): in the open *crossing* group, which closes like the own group.
//!
//! So a group never waits for a group that is still filling with independent work: own
//! groups read nothing, and only the crossing groups (the upper levels of a reduction
//! tree, an exchange) read others. Example: `sum(exp(x))` over 64 blocks of 8 MB with a
//! target of ~100 MB of work: 64 chunk states in own groups of about six chunk tasks with
//! the combines over their own states, and the combines over states of several groups in
//! one crossing group; only states (one element each) cross. An elementwise chain gives
//! own groups of output blocks with nothing crossing.
//!
//! Rules:
//! - A group is a set of tasks; the values crossing borders are the dependencies of a task
//!   computed in another group ([`Group::inputs`]) and the values a group hands on
//!   ([`Group::exports`]: read by another group, or requested outputs).
//! - The value of a `delayed` task ([`Layer::Task`]) is any Rust value, which cannot travel,
//!   so such a task is always in the group of every task that reads it (the tasks linked so
//!   are placed together, as one).
//! - Groups are numbered in a topological order of the group graph (ties by their first
//!   task's position), so every group reads only smaller numbers; if keeping delayed values
//!   together makes two groups read each other, they are merged.
//! - The grouping is a function of the graph and the options alone (deterministic), so the
//!   same graph gives the same groups on the client and on every worker.
//!
//! The work of a task is estimated in bytes of memory traffic, the passes' cost model: its
//! projected peak ([`chunkwise_ir::memory::task_peak`]) plus
//! [`chunkwise_passes::stats::TASK_COST_BYTES`].

use chunkwise_ir::{Layer, TaskGraph};
use chunkwise_passes::stats::TASK_COST_BYTES;
use chunkwise_runtime::{Dag, GraphError};

/// Options of [`partition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionOptions {
    /// Estimated work per group, in bytes of memory traffic (the cost model's unit).
    pub target_work: u64,
    /// Bytes of values a group may receive and hand on (its inputs from other groups and
    /// its exports); a group closes when it reaches this.
    pub memory_bound: u64,
    /// The most groups: a larger graph gets a larger work target (its total work divided
    /// by this), since every engine task costs the engine milliseconds.
    pub max_groups: u64,
}

/// One engine task: a set of tasks of the graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    /// Its tasks, in the runtime's order.
    pub tasks: Vec<u32>,
    /// Tasks of other groups whose values its tasks read (ascending ids).
    pub inputs: Vec<u32>,
    /// Its tasks whose values leave it: read by another group or requested (ascending).
    pub exports: Vec<u32>,
    /// The groups computing its inputs (ascending, all smaller than this group's number).
    pub deps: Vec<u32>,
    /// Estimated work (bytes of memory traffic).
    pub work: u64,
    /// Bytes of its inputs and exports.
    pub held: u64,
}

/// The groups of a graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partition {
    /// The groups, numbered by their first task's position in the runtime's order.
    pub groups: Vec<Group>,
    /// Each task's group (`u32::MAX`: a task no output needs, which never runs).
    pub task_group: Vec<u32>,
}

const NONE: u32 = u32::MAX;

/// The estimated work of task `t`.
fn work(g: &TaskGraph, t: u32) -> u64 {
    let m = &g.stages[g.task_stage[t as usize] as usize].memory;
    m.task_peak
        .max(m.value_bytes)
        .saturating_add(TASK_COST_BYTES)
}

/// Whether the value of task `t` is opaque (a delayed task's Rust value).
fn opaque(g: &TaskGraph, t: u32) -> bool {
    matches!(
        g.stages[g.task_stage[t as usize] as usize].node.layer(),
        Layer::Task(_)
    )
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

/// Groups the tasks of `g` (those its outputs need) into engine tasks (see the module
/// docs).
///
/// ```
/// use chunkwise::engine::{partition, PartitionOptions};
/// use chunkwise::{Array, UnaryOp};
/// let x = Array::random(&[4000, 1000], &[500, 1000], 1, chunkwise::DType::F64,
///                       chunkwise::Distribution::Uniform { low: 0.0, high: 1.0 }).unwrap();
/// let g = chunkwise::plan_all(&[&x.unary(UnaryOp::Exp).unwrap().sum(None, false).unwrap()]).unwrap();
/// let opts = PartitionOptions { target_work: 20_000_000, memory_bound: u64::MAX, max_groups: 1000 };
/// let p = partition(&g, &opts).unwrap();
/// assert!(p.groups.len() > 1 && p.groups.len() < g.len());
/// // Every group reads only earlier groups.
/// assert!(p.groups.iter().enumerate().all(|(i, gr)| gr.deps.iter().all(|&d| (d as usize) < i)));
/// ```
pub fn partition(g: &TaskGraph, opts: &PartitionOptions) -> Result<Partition, GraphError> {
    let n = g.len();
    let dag = Dag {
        offsets: &g.dep_offsets,
        deps: &g.deps,
    };
    let targets: Vec<u32> = g.outputs.iter().flat_map(|o| o.tasks.clone()).collect();
    let order = chunkwise_runtime::order(dag, &targets)?;
    let deps = |t: u32| g.deps_of(t);
    let mut is_output = vec![false; n];
    for &t in &targets {
        is_output[t as usize] = true;
    }
    let mut consumers = vec![0u32; n];
    for &t in &order {
        for &d in deps(t) {
            consumers[d as usize] += 1;
        }
    }
    // Delayed values stay with their readers: one component per connected set.
    let mut parent: Vec<u32> = (0..n as u32).collect();
    for &t in &order {
        for &d in deps(t) {
            if opaque(g, d) {
                let (a, b) = (find(&mut parent, d), find(&mut parent, t));
                parent[a.max(b) as usize] = a.min(b);
            }
        }
    }
    // The members of each component of more than one task (most tasks are alone).
    let mut members: rustc_hash::FxHashMap<u32, Vec<u32>> = Default::default();
    for &t in &order {
        let r = find(&mut parent, t);
        if r != t {
            members.entry(r).or_default();
        }
    }
    for &t in &order {
        let r = find(&mut parent, t);
        if let Some(m) = members.get_mut(&r) {
            m.push(t);
        }
    }
    let total: u64 = order
        .iter()
        .map(|&t| work(g, t))
        .fold(0, u64::saturating_add);
    let target = opts
        .target_work
        .max(total.div_ceil(opts.max_groups.max(1)))
        .max(1);
    let bytes = g.task_value_bytes();

    // Greedy grouping along the order (see the module docs).
    let mut gs = Groups {
        of: vec![NONE; n],
        work: Vec::new(),
        open: Vec::new(),
        received: Vec::new(),
        remaining: consumers.clone(),
        counted_in: vec![NONE; n],
    };
    let (mut own, mut crossing) = (NONE, NONE);
    let mut ext: Vec<u32> = Vec::new();
    for &t in &order {
        if gs.of[t as usize] != NONE {
            continue;
        }
        let root = find(&mut parent, t);
        let alone = [t];
        let unit = members.get(&root).map_or(&alone[..], Vec::as_slice);
        // The groups this unit would read from (NONE: a dependency not placed yet).
        ext.clear();
        for &m in unit {
            for &d in deps(m) {
                if find(&mut parent, d) != root {
                    ext.push(gs.of[d as usize]);
                }
            }
        }
        ext.sort_unstable();
        ext.dedup();
        let into = match ext.as_slice() {
            [] => Place::Own,
            [only] if *only == own => Place::Own,
            [only] if *only == crossing => Place::Crossing,
            [only] if *only != NONE && gs.work[*only as usize] < target.saturating_mul(2) => {
                Place::Join(*only)
            }
            _ => Place::Crossing,
        };
        let id = match into {
            Place::Own => {
                if own == NONE {
                    own = gs.open_group();
                }
                own
            }
            Place::Crossing => {
                if crossing == NONE {
                    crossing = gs.open_group();
                }
                crossing
            }
            Place::Join(id) => id,
        };
        for &m in unit {
            gs.add(g, m, id, &is_output, &bytes);
        }
        let full = |id: u32| {
            id != NONE
                && (gs.work[id as usize] >= target
                    || gs.open[id as usize].saturating_add(gs.received[id as usize])
                        >= opts.memory_bound)
        };
        if full(own) {
            own = NONE;
        }
        if full(crossing) {
            crossing = NONE;
        }
    }
    let mut group = gs.of;
    topological_numbers(g, &order, &mut group);
    Ok(build(g, &order, group, &is_output, &bytes))
}

/// Where a task (or a set of tasks that stay together) goes.
enum Place {
    /// The open group of tasks reading nothing from other groups.
    Own,
    /// The open group of tasks reading other groups (combines, exchanges).
    Crossing,
    /// The one group all its inputs come from.
    Join(u32),
}

/// The groups as they are being filled.
struct Groups {
    /// Each task's group.
    of: Vec<u32>,
    /// Per group: estimated work, bytes of values it hands on so far, bytes it receives.
    work: Vec<u64>,
    open: Vec<u64>,
    received: Vec<u64>,
    /// Per task: readers not yet placed in its group.
    remaining: Vec<u32>,
    /// Per task: the last group its value was counted as received by.
    counted_in: Vec<u32>,
}

impl Groups {
    fn open_group(&mut self) -> u32 {
        self.work.push(0);
        self.open.push(0);
        self.received.push(0);
        (self.work.len() - 1) as u32
    }

    /// Places task `t` in group `id`.
    fn add(&mut self, g: &TaskGraph, t: u32, id: u32, is_output: &[bool], bytes: &[u64]) {
        let i = id as usize;
        self.of[t as usize] = id;
        self.work[i] = self.work[i].saturating_add(work(g, t));
        if self.remaining[t as usize] > 0 || is_output[t as usize] {
            self.open[i] = self.open[i].saturating_add(bytes[t as usize]);
        }
        for &d in g.deps_of(t) {
            let du = d as usize;
            if self.of[du] == id {
                self.remaining[du] = self.remaining[du].saturating_sub(1);
                if self.remaining[du] == 0 && !is_output[du] {
                    self.open[i] = self.open[i].saturating_sub(bytes[du]);
                }
            } else if self.counted_in[du] != id {
                self.counted_in[du] = id;
                self.received[i] = self.received[i].saturating_add(bytes[du]);
            }
        }
    }
}

/// Renumbers the groups `0..k` in a topological order of the group graph (ties by the
/// order position of their first task), so every group reads only smaller numbers. Keeping
/// delayed values together can, in odd graphs, make two groups read each other; those
/// groups are merged first.
fn topological_numbers(g: &TaskGraph, order: &[u32], group: &mut [u32]) {
    loop {
        let k = first_seen_numbers(order, group) as usize;
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for &t in order {
            for &d in g.deps_of(t) {
                let (gd, gt) = (group[d as usize], group[t as usize]);
                if gd != gt {
                    edges.push((gd, gt));
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        let mut indegree = vec![0u32; k];
        let mut offsets = vec![0usize; k + 1];
        for &(a, b) in &edges {
            indegree[b as usize] += 1;
            offsets[a as usize + 1] += 1;
        }
        for i in 0..k {
            offsets[i + 1] += offsets[i];
        }
        // Kahn's algorithm, always taking the smallest ready group.
        let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<u32>> = (0..k as u32)
            .filter(|&i| indegree[i as usize] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut number = vec![NONE; k];
        let mut next = 0u32;
        while let Some(std::cmp::Reverse(i)) = ready.pop() {
            number[i as usize] = next;
            next += 1;
            for &(_, b) in &edges[offsets[i as usize]..offsets[i as usize + 1]] {
                indegree[b as usize] -= 1;
                if indegree[b as usize] == 0 {
                    ready.push(std::cmp::Reverse(b));
                }
            }
        }
        if next as usize == k {
            for &t in order {
                group[t as usize] = number[group[t as usize] as usize];
            }
            return;
        }
        // A cycle: every group left unnumbered (the cycles and what they reach) becomes one.
        let merged = number.iter().position(|&x| x == NONE).unwrap_or(0) as u32;
        for &t in order {
            if number[group[t as usize] as usize] == NONE {
                group[t as usize] = merged;
            }
        }
    }
}

/// Renumbers the groups `0..k` by the order position of their first task; returns `k`.
fn first_seen_numbers(order: &[u32], group: &mut [u32]) -> u32 {
    let mut new_id = rustc_hash::FxHashMap::default();
    for &t in order {
        let old = group[t as usize];
        let next = new_id.len() as u32;
        group[t as usize] = *new_id.entry(old).or_insert(next);
    }
    new_id.len() as u32
}

/// The groups' task lists, borders and figures.
fn build(
    g: &TaskGraph,
    order: &[u32],
    group: Vec<u32>,
    is_output: &[bool],
    bytes: &[u64],
) -> Partition {
    let k = order
        .iter()
        .map(|&t| group[t as usize] + 1)
        .max()
        .unwrap_or(0) as usize;
    let mut groups = vec![Group::default(); k];
    let mut exported = vec![false; g.len()];
    for &t in order {
        let gt = group[t as usize];
        let gr = &mut groups[gt as usize];
        gr.tasks.push(t);
        gr.work = gr.work.saturating_add(work(g, t));
        for &d in g.deps_of(t) {
            let gd = group[d as usize];
            if gd != gt {
                gr.inputs.push(d);
                gr.deps.push(gd);
                exported[d as usize] = true;
            }
        }
        if is_output[t as usize] {
            exported[t as usize] = true;
        }
    }
    for &t in order {
        if exported[t as usize] {
            groups[group[t as usize] as usize].exports.push(t);
        }
    }
    for gr in &mut groups {
        for v in [&mut gr.inputs, &mut gr.deps, &mut gr.exports] {
            v.sort_unstable();
            v.dedup();
        }
        gr.held = gr
            .inputs
            .iter()
            .chain(&gr.exports)
            .map(|&t| bytes[t as usize])
            .fold(0, u64::saturating_add);
    }
    Partition {
        groups,
        task_group: group,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{plan_all, Array, DType, Distribution, UnaryOp};

    fn opts(target_work: u64) -> PartitionOptions {
        PartitionOptions {
            target_work,
            memory_bound: u64::MAX,
            max_groups: 100_000,
        }
    }

    fn random(shape: &[u64], chunks: &[u64]) -> Array {
        let uniform = Distribution::Uniform {
            low: 1.0,
            high: 2.0,
        };
        Array::random(shape, chunks, 7, DType::F64, uniform).unwrap()
    }

    /// Every needed task in exactly one group; borders consistent with the dependencies.
    fn check(g: &TaskGraph, p: &Partition) {
        let mut seen = vec![0u32; g.len()];
        for (i, gr) in p.groups.iter().enumerate() {
            for &t in &gr.tasks {
                seen[t as usize] += 1;
                assert_eq!(p.task_group[t as usize], i as u32);
                for &d in g.deps_of(t) {
                    let gd = p.task_group[d as usize];
                    if gd != i as u32 {
                        assert!(gr.inputs.contains(&d) && gr.deps.contains(&gd));
                        assert!((gd as usize) < i, "group {i} reads the later group {gd}");
                        assert!(p.groups[gd as usize].exports.contains(&d));
                    }
                }
            }
        }
        for o in &g.outputs {
            for &t in &o.tasks {
                assert_eq!(seen[t as usize], 1);
                assert!(p.groups[p.task_group[t as usize] as usize]
                    .exports
                    .contains(&t));
            }
        }
    }

    #[test]
    fn an_elementwise_chain_crosses_no_border() {
        let x = random(&[4000, 400], &[100, 400]);
        let y = x.unary(UnaryOp::Exp).unwrap() * 2.0;
        let g = plan_all(&[&y]).unwrap();
        // 40 blocks of 320 KB; about 4 per group.
        let p = partition(&g, &opts(4 * (2 * 320_000 + TASK_COST_BYTES))).unwrap();
        check(&g, &p);
        assert_eq!(p.groups.len(), 10);
        assert!(p.groups.iter().all(|gr| gr.inputs.is_empty()));
        assert_eq!(
            p.groups.iter().map(|gr| gr.exports.len()).sum::<usize>(),
            40
        );
    }

    #[test]
    fn a_reduction_hands_on_states_only() {
        let x = random(&[6400, 100], &[100, 100]);
        let s = x.unary(UnaryOp::Exp).unwrap().sum(None, false).unwrap();
        let g = plan_all(&[&s]).unwrap();
        let p = partition(&g, &opts(8 * 200_000)).unwrap();
        check(&g, &p);
        assert!(p.groups.len() > 4, "{} groups", p.groups.len());
        // What crosses is a state of one element per group, not a block.
        let crossing: u64 = p.groups.iter().map(|gr| gr.held).sum();
        assert!(crossing < 64 * 100, "{crossing} bytes cross");
    }

    #[test]
    fn one_group_when_the_target_is_the_whole_graph_and_deterministic() {
        let x = random(&[1000, 100], &[100, 50]);
        let s = (x.clone() + x.transpose(&[1, 0]).unwrap().transpose(&[1, 0]).unwrap())
            .sum(Some(&[0]), false)
            .unwrap();
        let g = plan_all(&[&s]).unwrap();
        assert_eq!(partition(&g, &opts(u64::MAX)).unwrap().groups.len(), 1);
        let (a, b) = (
            partition(&g, &opts(1)).unwrap(),
            partition(&g, &opts(1)).unwrap(),
        );
        check(&g, &a);
        assert_eq!(a, b);
        assert_eq!(
            a.groups.len(),
            g.len(),
            "a target of one byte: one task per group"
        );
    }

    #[test]
    fn the_memory_bound_closes_groups() {
        let x = random(&[4000, 400], &[100, 400]);
        let y = x.unary(UnaryOp::Sin).unwrap();
        let g = plan_all(&[&y]).unwrap();
        let bound = PartitionOptions {
            memory_bound: 3 * 320_000,
            ..opts(u64::MAX)
        };
        let p = partition(&g, &bound).unwrap();
        check(&g, &p);
        assert!(p.groups.iter().all(|gr| gr.held <= 3 * 320_000));
        assert_eq!(p.groups.len(), 14);
    }

    #[test]
    fn max_groups_raises_the_target() {
        let x = random(&[4000, 400], &[100, 400]);
        let g = plan_all(&[&x.unary(UnaryOp::Cos).unwrap()]).unwrap();
        let capped = PartitionOptions {
            max_groups: 5,
            ..opts(1)
        };
        let p = partition(&g, &capped).unwrap();
        check(&g, &p);
        assert!(p.groups.len() <= 5);
    }

    #[test]
    fn delayed_values_stay_with_their_readers() {
        let x = random(&[600, 8], &[100, 8]);
        let d = crate::distance::pairwise_distance(&x, None, crate::distance::Metric::Euclidean)
            .unwrap();
        let g = plan_all(&[&d]).unwrap();
        let p = partition(&g, &opts(1)).unwrap();
        check(&g, &p);
        for gr in &p.groups {
            for &t in &gr.inputs {
                assert!(!opaque(&g, t), "a delayed value crosses a border");
            }
        }
        assert!(p.groups.len() > 1);
    }
}
