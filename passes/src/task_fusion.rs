//! Task fusion: a linear chain of delayed calls runs as one task.
//!
//! ```text
//! before:
//! %0 = load-K() +1 values : task
//! %1 = clean-K(%0) : task
//! %2 = load-K() +1 values : task
//! %3 = clean-K(%2) : task
//! %4 = report-K(%1, %3) : task
//! outputs: %4
//!
//! after task-fusion:
//! %0 = clean-K() +1 values : task
//! %1 = clean-K() +1 values : task
//! %2 = report-K(%0, %1) : task
//! outputs: %2
//! ```
//!
//! (`K` stands for each task's key.) A task whose only consumer is another task that reads
//! nothing else (a linear link, as in Dask's `fuse`), and which is not a requested output, is
//! computed inside that consumer: the fused task keeps the consumer's name and key, takes the
//! inner task's arguments in place of its result (here `load`'s value), and calls the inner
//! function first. `report` reads two tasks, so it is no link.
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

#[cfg(test)]
mod tests {
    use crate::testing::{assert_documented, before_after};
    use crate::Pass;
    use chunkwise_ir::delayed::{AnyValue, TaskArg, TaskFn};
    use chunkwise_ir::{Layer, Node};
    use std::sync::Arc;

    /// A task calling `f` (named `name`) on `args`, as the facade's `delayed::call*` builds it.
    fn call(
        name: &str,
        f: impl Fn(&[AnyValue]) -> Result<AnyValue, String> + Send + Sync + 'static,
        args: Vec<TaskArg>,
    ) -> Node {
        let func = TaskFn {
            name: name.into(),
            f: Arc::new(f),
        };
        Node::task(func, args)
    }

    fn arg<T: 'static>(vals: &[AnyValue], k: usize) -> &T {
        vals[k]
            .downcast_ref()
            .expect("an argument of the declared type")
    }

    /// `load(name)`: the bytes of `name`.
    fn load(name: &str) -> Node {
        let f = |v: &[AnyValue]| Ok(Arc::new(arg::<String>(v, 0).as_bytes().to_vec()) as AnyValue);
        call("load", f, vec![TaskArg::Value(Arc::new(name.to_string()))])
    }

    /// `clean(raw)`: the number of bytes.
    fn clean(raw: &Node) -> Node {
        let f = |v: &[AnyValue]| Ok(Arc::new(arg::<Vec<u8>>(v, 0).len()) as AnyValue);
        call("clean", f, vec![TaskArg::Node(raw.clone())])
    }

    /// The value of a graph of tasks, each computed where it is read.
    fn eval(n: &Node) -> usize {
        fn value(n: &Node) -> AnyValue {
            let Layer::Task(t) = n.layer() else {
                panic!("{} is not a task", n.label())
            };
            let vals: Vec<AnyValue> = t
                .args
                .iter()
                .map(|a| match a {
                    TaskArg::Node(m) => value(m),
                    TaskArg::Value(v) => v.clone(),
                })
                .collect();
            (t.func.f)(&vals).unwrap()
        }
        *value(n).downcast_ref().expect("a usize")
    }

    /// `name-123` task keys as `name-K` (keys come from a process-wide counter).
    fn without_keys(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '-' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                    chars.next();
                }
                out.push('K');
            }
        }
        out
    }

    #[test]
    fn linear_links_run_as_one_task() {
        let (ca, cb) = (clean(&load("a")), clean(&load("bb")));
        let sum =
            |v: &[AnyValue]| Ok(Arc::new(arg::<usize>(v, 0) + arg::<usize>(v, 1)) as AnyValue);
        let args = vec![TaskArg::Node(ca), TaskArg::Node(cb)];
        let report = [call("report", sum, args)];
        let text = without_keys(&before_after("task-fusion", &report));
        insta::assert_snapshot!("task_fusion_linear_links", text);
        assert_documented(include_str!("task_fusion.rs"), &text);
        let fused = super::TaskFusion.run(&report).unwrap();
        assert_eq!((eval(&report[0]), eval(&fused[0])), (3, 3));
    }
}
