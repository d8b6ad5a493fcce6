//! Static, memory-aware task ordering (see the crate documentation).

use crate::{Dag, GraphError};

/// Sentinel for "no position" / "not reachable".
pub(crate) const NONE: u32 = u32::MAX;

const UNVISITED: u8 = 0;
const ON_STACK: u8 = 1;
const EMITTED: u8 = 2;

/// Result of [`plan`]: the run order and its inverse.
pub(crate) struct Plan {
    /// Task ids in run order (only tasks reachable from the outputs).
    pub order: Vec<u32>,
    /// `pos[task]` = index of `task` in `order`, or [`NONE`] if it is not run.
    pub pos: Vec<u32>,
}

/// Checks the CSR structure and the ids of `outputs`; returns the number of tasks.
pub(crate) fn validate(dag: Dag<'_>, outputs: &[u32]) -> Result<usize, GraphError> {
    let n = dag.len();
    if dag.offsets.is_empty() {
        if !dag.deps.is_empty() {
            return Err(GraphError(format!(
                "offsets is empty but deps has {} entries",
                dag.deps.len()
            )));
        }
    } else {
        if n >= NONE as usize {
            return Err(GraphError(format!("too many tasks ({n})")));
        }
        if dag.offsets[0] != 0 {
            return Err(GraphError(format!(
                "offsets[0] must be 0, got {}",
                dag.offsets[0]
            )));
        }
        if dag.offsets[n] as usize != dag.deps.len() {
            return Err(GraphError(format!(
                "offsets length must be n+1 with offsets[n] == deps.len() ({}), got offsets[{n}] = {}",
                dag.deps.len(),
                dag.offsets[n]
            )));
        }
        if let Some(i) = dag.offsets.windows(2).position(|w| w[0] > w[1]) {
            return Err(GraphError(format!(
                "offsets must be non-decreasing (offsets[{i}] > offsets[{}])",
                i + 1
            )));
        }
    }
    if let Some(i) = dag.deps.iter().position(|&d| d as usize >= n) {
        let task = dag.offsets.partition_point(|&o| o as usize <= i) - 1;
        return Err(GraphError(format!(
            "task {task} has dependency {} out of range (n = {n})",
            dag.deps[i]
        )));
    }
    if let Some(&o) = outputs.iter().find(|&&o| o as usize >= n) {
        return Err(GraphError(format!("output {o} out of range (n = {n})")));
    }
    Ok(n)
}

#[inline]
fn row(offsets: &[u32], i: u32) -> std::ops::Range<usize> {
    offsets[i as usize] as usize..offsets[i as usize + 1] as usize
}

/// Computes the static run order of every task reachable from `outputs`.
pub(crate) fn plan(dag: Dag<'_>, outputs: &[u32]) -> Result<Plan, GraphError> {
    let n = validate(dag, outputs)?;
    let (offsets, deps) = (dag.offsets, dag.deps);
    if outputs.is_empty() {
        return Ok(Plan {
            order: Vec::new(),
            pos: vec![NONE; n],
        });
    }

    // 1. Reachability from the outputs (iterative). `state` doubles as the visited mark:
    //    reachable tasks get ON_STACK temporarily here, reset to UNVISITED below.
    let mut reachable = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut is_output = vec![false; n];
    for &o in outputs {
        is_output[o as usize] = true;
        if !reachable[o as usize] {
            reachable[o as usize] = true;
            stack.push(o);
        }
    }
    let mut m = 0usize;
    while let Some(t) = stack.pop() {
        m += 1;
        for &d in &deps[row(offsets, t)] {
            if !reachable[d as usize] {
                reachable[d as usize] = true;
                stack.push(d);
            }
        }
    }

    // 2. Reverse CSR (dependents), restricted to reachable consumers. Repeated edges are kept.
    let mut rev_off = vec![0u32; n + 1];
    for t in 0..n as u32 {
        if reachable[t as usize] {
            for &d in &deps[row(offsets, t)] {
                rev_off[d as usize + 1] += 1;
            }
        }
    }
    for i in 0..n {
        rev_off[i + 1] += rev_off[i];
    }
    let mut rev = vec![0u32; rev_off[n] as usize];
    {
        let mut fill: Vec<u32> = rev_off[..n].to_vec();
        for t in 0..n as u32 {
            if reachable[t as usize] {
                for &d in &deps[row(offsets, t)] {
                    rev[fill[d as usize] as usize] = t;
                    fill[d as usize] += 1;
                }
            }
        }
    }

    // 3. Kahn's algorithm over the reachable subgraph: detects cycles and computes a
    //    Sethi-Ullman style "need" (values held while computing the subtree) per task.
    let mut pending: Vec<u32> = (0..n)
        .map(|t| {
            if reachable[t] {
                offsets[t + 1] - offsets[t]
            } else {
                0
            }
        })
        .collect();
    let mut need = vec![0u32; n];
    let mut scratch: Vec<u32> = Vec::new();
    stack.clear();
    stack.extend((0..n as u32).filter(|&t| reachable[t as usize] && pending[t as usize] == 0));
    let mut processed = 0usize;
    while let Some(t) = stack.pop() {
        processed += 1;
        scratch.clear();
        scratch.extend(deps[row(offsets, t)].iter().map(|&d| need[d as usize]));
        scratch.sort_unstable_by(|a, b| b.cmp(a));
        need[t as usize] = scratch
            .iter()
            .enumerate()
            .map(|(i, &k)| k.saturating_add(i as u32))
            .max()
            .unwrap_or(0)
            .max(1);
        for &d in &rev[row(&rev_off, t)] {
            pending[d as usize] -= 1;
            if pending[d as usize] == 0 {
                stack.push(d);
            }
        }
    }
    if processed != m {
        let t = (0..n)
            .find(|&t| reachable[t] && pending[t] != 0)
            .unwrap_or(0);
        return Err(GraphError(format!(
            "cycle detected (task {t} depends, transitively, on itself or on a cycle)"
        )));
    }
    drop(scratch);

    // 4. Depth-first post-order from each output, children sorted by decreasing need,
    //    with eager emission of dependents whose execution frees a value.
    let mut o = Orderer {
        offsets,
        deps,
        rev_off: &rev_off,
        rev: &rev,
        is_output: &is_output,
        state: vec![UNVISITED; n],
        pos: vec![NONE; n],
        // unemitted dependency edges per task
        pending: (0..n)
            .map(|t| {
                if reachable[t] {
                    offsets[t + 1] - offsets[t]
                } else {
                    0
                }
            })
            .collect(),
        // unemitted (reachable) consumer edges per task
        consumers: (0..n).map(|t| rev_off[t + 1] - rev_off[t]).collect(),
        order: Vec::with_capacity(m),
        work: Vec::new(),
    };
    drop(pending);
    drop(reachable);
    let mut sdeps: Vec<u32> = deps.to_vec();
    let mut frames: Vec<(u32, u32, u32)> = Vec::new(); // (task, next edge, end edge)
    for &out in outputs {
        if o.state[out as usize] != UNVISITED {
            continue;
        }
        push_frame(out, offsets, &need, &mut sdeps, &mut o.state, &mut frames);
        while let Some(top) = frames.last_mut() {
            if top.1 < top.2 {
                let c = sdeps[top.1 as usize];
                top.1 += 1;
                match o.state[c as usize] {
                    UNVISITED => {
                        push_frame(c, offsets, &need, &mut sdeps, &mut o.state, &mut frames)
                    }
                    ON_STACK => unreachable!("cycle not caught by Kahn's algorithm"),
                    _ => {}
                }
                continue;
            }
            let (t, _, _) = frames.pop().expect("non-empty");
            if o.state[t as usize] != EMITTED {
                o.emit(t);
            }
        }
    }
    debug_assert_eq!(o.order.len(), m);
    Ok(Plan {
        order: o.order,
        pos: o.pos,
    })
}

fn push_frame(
    t: u32,
    offsets: &[u32],
    need: &[u32],
    sdeps: &mut [u32],
    state: &mut [u8],
    frames: &mut Vec<(u32, u32, u32)>,
) {
    state[t as usize] = ON_STACK;
    let r = row(offsets, t);
    // Largest need first (Sethi-Ullman); the sort is stable, so ties keep the CSR order.
    if r.len() > 1 {
        sdeps[r.clone()].sort_by_key(|&c| std::cmp::Reverse(need[c as usize]));
    }
    frames.push((t, r.start as u32, r.end as u32));
}

/// State of the depth-first ordering pass.
struct Orderer<'a> {
    offsets: &'a [u32],
    deps: &'a [u32],
    rev_off: &'a [u32],
    rev: &'a [u32],
    is_output: &'a [bool],
    state: Vec<u8>,
    pos: Vec<u32>,
    pending: Vec<u32>,
    consumers: Vec<u32>,
    order: Vec<u32>,
    work: Vec<u32>,
}

impl Orderer<'_> {
    /// Appends `t` to the order, then eagerly appends every task that became runnable
    /// and whose execution releases a value (its last unemitted consumer).
    fn emit(&mut self, t: u32) {
        debug_assert!(self.work.is_empty());
        self.work.push(t);
        while let Some(x) = self.work.pop() {
            let xi = x as usize;
            if self.state[xi] == EMITTED || self.pending[xi] != 0 {
                continue;
            }
            self.state[xi] = EMITTED;
            self.pos[xi] = self.order.len() as u32;
            self.order.push(x);
            // x consumed its inputs: an input left with a single ready consumer should be
            // finished off now, since running that consumer releases it.
            for e in row(self.offsets, x) {
                let c = self.deps[e] as usize;
                self.consumers[c] -= 1;
                let left = self.consumers[c];
                if (1..=2).contains(&left) && !self.is_output[c] {
                    if let Some(d) = self.sole_consumer(c) {
                        if self.pending[d as usize] == 0 {
                            self.work.push(d);
                        }
                    }
                }
            }
            // Dependents that just became runnable: emit them now if they release a value.
            for e in row(self.rev_off, x) {
                let d = self.rev[e];
                let di = d as usize;
                self.pending[di] -= 1;
                if self.pending[di] == 0 && self.state[di] != EMITTED && self.frees_memory(d) {
                    self.work.push(d);
                }
            }
        }
    }

    /// The only unemitted consumer of `c` (possibly listing `c` several times), if any.
    fn sole_consumer(&self, c: usize) -> Option<u32> {
        let mut found = None;
        for &d in &self.rev[row(self.rev_off, c as u32)] {
            if self.state[d as usize] != EMITTED {
                match found {
                    None => found = Some(d),
                    Some(f) if f != d => return None,
                    _ => {}
                }
            }
        }
        found
    }

    /// Whether running `d` now would release one of its inputs.
    fn frees_memory(&mut self, d: u32) -> bool {
        let r = row(self.offsets, d);
        for &c in &self.deps[r.clone()] {
            self.consumers[c as usize] -= 1;
        }
        let frees = self.deps[r.clone()]
            .iter()
            .any(|&c| self.consumers[c as usize] == 0 && !self.is_output[c as usize]);
        for &c in &self.deps[r] {
            self.consumers[c as usize] += 1;
        }
        frees
    }
}
