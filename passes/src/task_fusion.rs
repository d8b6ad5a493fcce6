//! Task fusion: a linear chain of delayed calls runs as one task.
//!
//! ```text
//! before:  %0 = load-1() : task                 after:  %0 = clean-2() : task
//!          %1 = clean-2(%0) : task                       (load runs inside clean's task)
//! ```
//!
//! A task whose only consumer is another task that reads nothing else (a linear link, as in
//! Dask's `fuse`), and which is not a requested output, is computed inside that consumer: the fused task keeps the consumer's name and key, takes
//! the inner task's arguments in place of its result, and calls the inner function first.
//! An error of the inner function is reported with the inner task's key in front of its
//! message, a panic likewise.

use crate::pass::{rewrite, Consumers, Pass, PassError};
use chunkwise_ir::delayed::{AnyValue, TaskArg, TaskFn, TaskLayer};
use chunkwise_ir::{Layer, Node};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct TaskFusion;

impl Pass for TaskFusion {
    fn name(&self) -> &'static str {
        "task-fusion"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        let consumers = Consumers::of(outputs);
        rewrite(self.name(), outputs, |orig, n, _| {
            let Layer::Task(outer) = n.layer() else {
                return Ok(None);
            };
            // A linear link: this task reads exactly one node, a task read only by it.
            let orig_args = orig.inputs();
            let [o] = orig_args.as_slice() else {
                return Ok(None);
            };
            let Some((k, TaskArg::Node(m))) = outer
                .args
                .iter()
                .enumerate()
                .find(|(_, a)| matches!(a, TaskArg::Node(_)))
            else {
                return Ok(None);
            };
            let Layer::Task(inner) = m.layer() else {
                return Ok(None);
            };
            if !consumers.only_user(o, orig) || consumers.users(o).len() != 1 {
                return Ok(None);
            }
            Ok(Some(fuse(outer, k, inner, n.meta().clone())))
        })
    }
}

fn fuse(outer: &TaskLayer, k: usize, inner: &TaskLayer, meta: chunkwise_ir::Meta) -> Node {
    let n_inner = inner.args.len();
    let (f_out, f_in) = (outer.func.f.clone(), inner.func.f.clone());
    let inner_label = inner.label();
    let f = move |vals: &[AnyValue]| -> Result<AnyValue, String> {
        let inner_vals = &vals[k..k + n_inner];
        let v = match catch_unwind(AssertUnwindSafe(|| f_in(inner_vals))) {
            Ok(r) => r.map_err(|e| format!("{inner_label}: {e}"))?,
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned());
                match msg {
                    Some(m) => resume_unwind(Box::new(format!("{inner_label}: {m}"))),
                    None => resume_unwind(payload),
                }
            }
        };
        let mut args: Vec<AnyValue> = Vec::with_capacity(vals.len() + 1 - n_inner);
        args.extend_from_slice(&vals[..k]);
        args.push(v);
        args.extend_from_slice(&vals[k + n_inner..]);
        f_out(&args)
    };
    let mut args = outer.args[..k].to_vec();
    args.extend(inner.args.iter().cloned());
    args.extend(outer.args[k + 1..].iter().cloned());
    Node::fused_task(
        TaskLayer {
            func: TaskFn {
                name: outer.func.name.clone(),
                f: Arc::new(f),
            },
            args,
            key: outer.key,
        },
        meta,
    )
}
