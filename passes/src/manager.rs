//! The pass manager: runs passes in a stated order of phases, each phase once or to a fixed
//! point, and records what every pass did.
//!
//! The standard pipeline ([`PassManager::standard`]):
//!
//! 1. **simplify**, to a fixed point: `cse`, `slice-fusion`, `transpose-fusion`,
//!    `transpose-blockwise`, `slice-pushdown`. Node ids are content hashes, so "did anything change" is a
//!    comparison of output ids.
//! 2. **fuse**, once: `blockwise-fusion`, `root-fusion`, `reduction-fusion`, `task-fusion`.
//!
//! Culling needs no pass: it is the block-demand analysis of [`crate::cull`], which both the
//! statistics and lowering apply.
//!
//! ```
//! use chunkwise_ir::{slice::SliceItem, ChunkGrid, DType, Node, Scalar};
//! use chunkwise_passes::PassManager;
//! let x = Node::full(ChunkGrid::regular(&[1000], &[10]).unwrap(), DType::F64, Scalar::F64(1.0)).unwrap();
//! let y = Node::slice(x, vec![SliceItem::Range { start: 0, step: 1, count: 100 }]).unwrap();
//! let z = Node::slice(y, vec![SliceItem::Index { index: 5 }]).unwrap();
//! let out = PassManager::standard().with_stats(true).run(&[z]).unwrap();
//! let last = out.report.records.last().unwrap();
//! assert_eq!(last.after.tasks, 1);
//! assert!(out.report.records.iter().any(|r| r.pass == "slice-fusion" && r.changed));
//! ```

use crate::blockwise_fusion::{BlockwiseFusion, FusionLimits};
use crate::cse::Cse;
use crate::pass::{check_outputs, Pass, PassError};
use crate::reduction_fusion::ReductionFusion;
use crate::root_fusion::RootFusion;
use crate::slice_fusion::SliceFusion;
use crate::slice_pushdown::SlicePushdown;
use crate::stats::{stats, Stats};
use crate::task_fusion::TaskFusion;
use crate::transpose_blockwise::TransposeBlockwise;
use crate::transpose_fusion::TransposeFusion;
use chunkwise_ir::{dump, Node};
use serde::Serialize;
use std::time::Instant;

/// Passes run together, once or to a fixed point.
pub struct Phase {
    /// Name shown by `explain`.
    pub name: &'static str,
    /// The passes, in order.
    pub passes: Vec<Box<dyn Pass>>,
    /// Repeat the phase until no pass changes the graph.
    pub fixpoint: bool,
}

/// What one run of one pass did.
#[derive(Debug, Clone, Serialize)]
pub struct PassRecord {
    /// Phase name.
    pub phase: &'static str,
    /// Pass name.
    pub pass: &'static str,
    /// Round of the phase (from 1).
    pub round: usize,
    /// Whether the graph changed.
    pub changed: bool,
    /// Whether the cost model rejected the rewrite (the graph was kept as it was).
    pub rejected: bool,
    /// Statistics before (zero unless statistics are on).
    pub before: Stats,
    /// Statistics after (zero unless statistics are on).
    pub after: Stats,
    /// Time spent in the pass, microseconds.
    pub micros: u64,
    /// The graph after the pass ([`dump::layers_text`]), when dumps are on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<String>,
}

/// The record of a pipeline run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Statistics of the input graph (zero unless statistics are on).
    pub initial: Stats,
    /// One record per pass run, in order.
    pub records: Vec<PassRecord>,
    /// Phases stopped by the round limit before reaching a fixed point.
    pub unfinished: Vec<&'static str>,
}

impl Report {
    /// Statistics of the final graph.
    pub fn last(&self) -> Stats {
        self.records.last().map_or(self.initial, |r| r.after)
    }
}

/// Optimized outputs and the report.
#[derive(Debug, Clone)]
pub struct Optimized {
    /// The rewritten outputs, in the order given (equal metadata and values).
    pub outputs: Vec<Node>,
    /// What each pass did.
    pub report: Report,
}

/// Runs phases of passes; see the [module documentation](self).
pub struct PassManager {
    phases: Vec<Phase>,
    max_rounds: usize,
    stats: bool,
    dumps: bool,
}

impl Default for PassManager {
    fn default() -> Self {
        PassManager::standard()
    }
}

impl PassManager {
    /// A manager with no passes (the graph is left as built).
    pub fn none() -> PassManager {
        PassManager {
            phases: vec![],
            max_rounds: 64,
            stats: false,
            dumps: false,
        }
    }

    /// The standard pipeline (module documentation).
    pub fn standard() -> PassManager {
        PassManager::standard_with(FusionLimits::default())
    }

    /// The standard pipeline with other bounds on fused tasks.
    pub fn standard_with(limits: FusionLimits) -> PassManager {
        PassManager::none()
            .phase(
                "simplify",
                true,
                vec![
                    Box::new(Cse),
                    Box::new(SliceFusion),
                    Box::new(TransposeFusion),
                    Box::new(TransposeBlockwise),
                    Box::new(SlicePushdown),
                ],
            )
            .phase(
                "fuse",
                false,
                vec![
                    Box::new(BlockwiseFusion { limits }),
                    Box::new(RootFusion),
                    Box::new(ReductionFusion),
                    Box::new(TaskFusion),
                ],
            )
    }

    /// Adds a phase at the end.
    pub fn phase(mut self, name: &'static str, fixpoint: bool, passes: Vec<Box<dyn Pass>>) -> Self {
        self.phases.push(Phase {
            name,
            passes,
            fixpoint,
        });
        self
    }

    /// Removes the passes called `name`.
    pub fn without(mut self, name: &str) -> Self {
        for p in &mut self.phases {
            p.passes.retain(|x| x.name() != name);
        }
        self
    }

    /// Keeps only the passes whose names are listed.
    pub fn only(mut self, names: &[&str]) -> Self {
        for p in &mut self.phases {
            p.passes.retain(|x| names.contains(&x.name()));
        }
        self
    }

    /// Records statistics before and after every pass (costs an O(layers) analysis each).
    pub fn with_stats(mut self, on: bool) -> Self {
        self.stats = on;
        self
    }

    /// Records the graph text after every pass.
    pub fn with_dumps(mut self, on: bool) -> Self {
        self.dumps = on;
        self
    }

    /// Most rounds of a fixed-point phase (default 64).
    pub fn max_rounds(mut self, n: usize) -> Self {
        self.max_rounds = n.max(1);
        self
    }

    /// Pass names in run order.
    pub fn pass_names(&self) -> Vec<&'static str> {
        self.phases
            .iter()
            .flat_map(|p| p.passes.iter().map(|x| x.name()))
            .collect()
    }

    /// Runs the pipeline on the graph of `outputs`.
    pub fn run(&self, outputs: &[Node]) -> Result<Optimized, PassError> {
        let mut cur = outputs.to_vec();
        let mut report = Report::default();
        let measure = |g: &[Node]| {
            if self.stats {
                stats(g)
            } else {
                Stats::default()
            }
        };
        let mut current_stats = measure(&cur);
        report.initial = current_stats;
        for phase in &self.phases {
            let rounds = if phase.fixpoint { self.max_rounds } else { 1 };
            let mut settled = !phase.fixpoint;
            for round in 1..=rounds {
                let mut any = false;
                for pass in &phase.passes {
                    let t = Instant::now();
                    let mut next = pass.run(&cur)?;
                    check_outputs(pass.name(), &cur, &next)?;
                    let mut changed = next.iter().zip(&cur).any(|(a, b)| a.id() != b.id());
                    let mut rejected = false;
                    if changed && pass.guarded() && stats(&next).cost() > stats(&cur).cost() {
                        next = cur.clone();
                        changed = false;
                        rejected = true;
                    }
                    let micros = t.elapsed().as_micros() as u64;
                    let after = if changed {
                        measure(&next)
                    } else {
                        current_stats
                    };
                    report.records.push(PassRecord {
                        phase: phase.name,
                        pass: pass.name(),
                        round,
                        changed,
                        rejected,
                        before: current_stats,
                        after,
                        micros,
                        graph: self.dumps.then(|| dump::layers_text(&next)),
                    });
                    any |= changed;
                    current_stats = after;
                    cur = next;
                }
                if !any {
                    settled = true;
                    break;
                }
            }
            if !settled {
                report.unfinished.push(phase.name);
            }
        }
        Ok(Optimized {
            outputs: cur,
            report,
        })
    }
}

impl Report {
    /// The pass-by-pass table: layers, tasks and bytes before and after each pass.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        // Columns as wide as the longest phase and pass names (`transpose-blockwise`).
        let width = |names: &mut dyn Iterator<Item = &str>, title: &str| {
            names.map(str::len).chain([title.len()]).max().unwrap_or(0)
        };
        let phase_w = width(
            &mut self.records.iter().map(|r| r.phase).chain(["input"]),
            "phase",
        );
        let pass_w = width(&mut self.records.iter().map(|r| r.pass), "pass");
        let mut s = String::new();
        let mut row = |cells: [&str; 10]| {
            let [phase, pass, round, chg, layers, tasks, read, moved, peak, us] = cells;
            let _ = writeln!(
                s,
                "{phase:<phase_w$} {pass:<pass_w$} {round:>5} {chg:>3} {layers:>15} {tasks:>15} \
                 {read:>12} {moved:>12} {peak:>12} {us:>9}"
            );
        };
        row([
            "phase",
            "pass",
            "round",
            "chg",
            "layers",
            "tasks",
            "read",
            "moved",
            "peak/task",
            "µs",
        ]);
        let counts = |a: Stats, b: Stats| {
            [
                format!("{}->{}", a.layers, b.layers),
                format!("{}->{}", a.tasks, b.tasks),
                bytes(b.bytes_read),
                bytes(b.bytes_moved),
                bytes(b.peak_task_bytes),
            ]
        };
        let [l, t, r, m, p] = counts(self.initial, self.initial);
        row(["input", "-", "", "", &l, &t, &r, &m, &p, ""]);
        for rec in &self.records {
            let [l, t, r, m, p] = counts(rec.before, rec.after);
            let chg = if rec.rejected {
                "rej"
            } else if rec.changed {
                "yes"
            } else {
                "no"
            };
            let (round, us) = (rec.round.to_string(), rec.micros.to_string());
            row([rec.phase, rec.pass, &round, chg, &l, &t, &r, &m, &p, &us]);
        }
        for p in &self.unfinished {
            let _ = writeln!(
                s,
                "phase {p} stopped at the round limit before a fixed point"
            );
        }
        s
    }
}

/// `1.5 GiB`-style sizes.
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::PassManager;
    use crate::testing::{arrays, binary, random, reduce, unary, with_scalar, Operand};
    use chunkwise_ir::dump::layers_text;
    use chunkwise_ir::program::BinaryOp::{Div, Mul, Sub};
    use chunkwise_ir::program::{BinaryOp, UnaryOp};
    use chunkwise_ir::ReduceOp;

    #[test]
    fn the_standard_pipeline_makes_one_layer_of_a_mean_of_elementwise_work() {
        // mean((exp(x / 4) - 1 / (x + 1)) * (x + 1) - sqrt(abs(x - 0.5)), axis 0)
        let x = random(&[400, 400], &[100, 100], 2026);
        let x1 = with_scalar(&x, BinaryOp::Add, 1.0);
        let e = unary(UnaryOp::Exp, &with_scalar(&x, Div, 4.0));
        let a = arrays(
            &e,
            Sub,
            &binary(Operand::F64(1.0), Div, Operand::Array(&x1)),
        );
        let s = unary(
            UnaryOp::Sqrt,
            &unary(UnaryOp::Abs, &with_scalar(&x, Sub, 0.5)),
        );
        let d = arrays(&arrays(&a, Mul, &x1), Sub, &s);
        let m = [reduce(&d, ReduceOp::Mean, &[0])];
        let out = PassManager::standard().run(&m).unwrap();
        insta::assert_snapshot!(
            "standard_pipeline",
            format!(
                "before:\n{}\nafter:\n{}",
                layers_text(&m),
                layers_text(&out.outputs)
            )
        );
    }

    /// A pass that does not use `rewrite` and replaces every output by a source of other
    /// chunks.
    struct Rechunker;

    impl crate::pass::Pass for Rechunker {
        fn name(&self) -> &'static str {
            "rechunker"
        }
        fn run(
            &self,
            outputs: &[chunkwise_ir::Node],
        ) -> Result<Vec<chunkwise_ir::Node>, crate::PassError> {
            Ok(outputs.iter().map(|_| random(&[100], &[50], 1)).collect())
        }
    }

    #[test]
    fn the_manager_checks_every_pass_result_even_without_rewrite() {
        let pm = PassManager::none().phase("broken", false, vec![Box::new(Rechunker)]);
        let err = pm.run(&[random(&[100], &[10], 1)]).unwrap_err();
        assert_eq!(
            err,
            crate::PassError::ChangedOutput {
                pass: "rechunker",
                output: 0
            }
        );
    }
}
