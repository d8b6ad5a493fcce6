//! Custom task layers: the IR side of the `delayed` API.
//!
//! A [`Layer::Task`](crate::Layer::Task) node is one call of a Rust function on values of any
//! type: its arguments are other nodes (task results, or whole arrays) and plain values. It
//! has one "block" (a 0-dimensional grid), so culling, lowering, ordering and the runtime
//! treat it like any layer. A [`Layer::FromDelayed`](crate::Layer::FromDelayed) array takes
//! each of its blocks from a task.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A value of any type, shared.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

/// The function of a task: argument values in, a value or an error message out.
pub type TaskFunc = Arc<dyn Fn(&[AnyValue]) -> Result<AnyValue, String> + Send + Sync>;

/// A named task function.
#[derive(Clone)]
pub struct TaskFn {
    /// The function's name (used in keys, labels and errors).
    pub name: String,
    /// The function.
    pub f: TaskFunc,
}

impl fmt::Debug for TaskFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskFn({})", self.name)
    }
}

impl PartialEq for TaskFn {
    fn eq(&self, other: &TaskFn) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.f, &other.f)
    }
}

/// An argument of a task.
#[derive(Clone)]
pub enum TaskArg {
    /// The value of another node: a task's result, or a whole array (assembled from its
    /// blocks).
    Node(crate::Node),
    /// A plain value.
    Value(AnyValue),
}

impl fmt::Debug for TaskArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskArg::Node(n) => write!(f, "{n:?}"),
            TaskArg::Value(_) => f.write_str("value"),
        }
    }
}

impl PartialEq for TaskArg {
    fn eq(&self, other: &TaskArg) -> bool {
        match (self, other) {
            (TaskArg::Node(a), TaskArg::Node(b)) => a == b,
            (TaskArg::Value(a), TaskArg::Value(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// One call of a task function.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskLayer {
    /// The function.
    pub func: TaskFn,
    /// The arguments, in order.
    pub args: Vec<TaskArg>,
    /// A key unique to this call (as Dask's `name-token`).
    pub key: u64,
}

impl TaskLayer {
    /// `name-key`, the task's key as shown in labels and errors.
    pub fn label(&self) -> String {
        format!("{}-{}", self.func.name, self.key)
    }
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// A fresh task key.
pub fn next_key() -> u64 {
    NEXT_KEY.fetch_add(1, Ordering::Relaxed)
}
