//! `delayed`: lazy calls of ordinary Rust functions, run in parallel on the same runtime as
//! arrays (the `dask.delayed` workflow).
//!
//! Calls build a task graph instead of running: [`delayed!`](crate::delayed!) (or the
//! `call*` functions, for closures) returns a [`Delayed<R>`], a handle to a future value of
//! type `R`. Arguments can be other `Delayed` values (by value or by reference), plain values
//! of any `Send + Sync + 'static` type, or arrays ([`Array::to_delayed`], whole or by
//! block). Functions take their arguments **by reference**, so no argument is cloned.
//! Nothing runs until [`Delayed::compute`] (one value) or [`compute_all`] (several, sharing
//! common work); independent calls run in parallel.
//!
//! ```
//! use chunkwise::{delayed, delayed::Delayed};
//! fn inc(x: &i64) -> i64 { x + 1 }
//! fn add(a: &i64, b: &i64) -> i64 { a + b }
//! let x = delayed!(inc(1));
//! let y = delayed!(inc(&x));
//! let total: Delayed<i64> = delayed!(add(&x, &y));
//! assert_eq!(*total.compute().unwrap(), 5);
//! ```
//!
//! A failing function (returning `Err`, with `delayed!(try f(..))`) or a panicking one
//! stops the run with an error naming the task (`name-key`) and its inputs.

use crate::compute::{plan_with, run_graph, ComputeOptions};
use crate::error::{Error, Result};
use crate::Array;
use chunkwise_backends::Value;
use chunkwise_ir::delayed::{AnyValue, TaskArg, TaskFn};
use chunkwise_ir::{ChunkGrid, Element, Node};
use std::any::type_name;
use std::fmt::Display;
use std::marker::PhantomData;
use std::sync::Arc;

/// A lazy value of type `T`: the result of a delayed call, or an array (whole or a block).
pub struct Delayed<T> {
    node: Node,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Delayed<T> {
    fn clone(&self) -> Self {
        Delayed {
            node: self.node.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Delayed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Delayed<{}>({})", type_name::<T>(), self.node.label())
    }
}

impl<T: Send + Sync + 'static> Delayed<T> {
    fn new(node: Node) -> Self {
        Delayed {
            node,
            _t: PhantomData,
        }
    }

    /// The graph node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The task's key, `name-key` (for a delayed call).
    pub fn key(&self) -> String {
        self.node.label()
    }

    /// Computes the value (optimized, in parallel on all cores).
    pub fn compute(&self) -> Result<Arc<T>> {
        self.compute_with(&ComputeOptions::default())
    }

    /// [`Delayed::compute`] with options (threads, progress, trace, cancellation).
    pub fn compute_with(&self, opts: &ComputeOptions<'_>) -> Result<Arc<T>> {
        let v = compute_all(&[&self.node], opts)?.pop().expect("one output");
        downcast(v, &self.node)
    }
}

impl<T: Element> Delayed<ndarray::ArrayD<T>> {
    /// The array whose blocks are `parts` (one delayed array per block, C order over the
    /// grid); `chunks` lists the block lengths along each axis. A part that produces a block
    /// of another shape makes the computation fail with an error naming it.
    pub fn to_array(parts: &[Delayed<ndarray::ArrayD<T>>], chunks: &[Vec<u64>]) -> Result<Array> {
        let grid = ChunkGrid::explicit(
            &chunks.iter().map(|c| c.iter().sum()).collect::<Vec<u64>>(),
            chunks,
        )?;
        let node = Node::from_delayed(
            parts.iter().map(|p| p.node.clone()).collect(),
            grid,
            T::DTYPE,
        )?;
        Ok(Array::from_node(node))
    }
}

/// An error about `node`'s value.
fn bad_value(node: &Node, message: String) -> Error {
    Error::Task {
        layer: node.label(),
        block: vec![],
        inputs: vec![],
        source: chunkwise_backends::KernelError::BadInput(message),
    }
}

fn downcast<T: Send + Sync + 'static>(v: AnyValue, node: &Node) -> Result<Arc<T>> {
    v.downcast::<T>()
        .map_err(|_| bad_value(node, format!("the value is not a {}", type_name::<T>())))
}

/// Computes several nodes (delayed values or arrays) at once, sharing common work: a
/// task's value as it is, an array assembled into a `DynArray`.
pub fn compute_all(nodes: &[&Node], opts: &ComputeOptions<'_>) -> Result<Vec<AnyValue>> {
    let nodes: Vec<Node> = nodes.iter().map(|n| (*n).clone()).collect();
    let values = run_graph(&plan_with(&nodes, opts)?, opts)?;
    nodes
        .iter()
        .zip(values)
        .map(|(n, blocks)| {
            if n.is_task() {
                match blocks.into_iter().next() {
                    Some(Value::Any(v)) => Ok(v),
                    Some(Value::Array(a)) => Ok(Arc::new(a) as AnyValue),
                    _ => Err(bad_value(n, "the task has no value".into())),
                }
            } else {
                let arrays = blocks
                    .into_iter()
                    .map(|v| match v {
                        Value::Array(a) => Ok(a),
                        other => Err(bad_value(
                            n,
                            format!("expected an array block, got {other:?}"),
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Arc::new(crate::compute::assemble(n, arrays)?) as AnyValue)
            }
        })
        .collect()
}

/// Computes several delayed values together, where a failing call fails only the values
/// that depend on it: every independent call still runs, and each value comes back with
/// its own result.
///
/// ```
/// use chunkwise::{delayed, delayed::compute_each, ComputeOptions};
/// fn half(x: &i64) -> Result<i64, String> {
///     if x % 2 == 0 { Ok(x / 2) } else { Err(format!("{x} is odd")) }
/// }
/// let parts: Vec<_> = [4, 7, 10].into_iter().map(|x| delayed!(try half(x))).collect();
/// let out = compute_each(&parts, &ComputeOptions::default()).unwrap();
/// assert_eq!(*out[0].as_ref().unwrap().as_ref(), 2);
/// assert!(out[1].as_ref().unwrap_err().to_string().contains("7 is odd"));
/// assert_eq!(*out[2].as_ref().unwrap().as_ref(), 5);
/// ```
pub fn compute_each<T: Send + Sync + 'static>(
    values: &[Delayed<T>],
    opts: &ComputeOptions<'_>,
) -> Result<Vec<Result<Arc<T>>>> {
    let nodes: Vec<Node> = values.iter().map(|d| d.node.clone()).collect();
    if let Some(n) = nodes.iter().find(|n| !n.is_task()) {
        return Err(chunkwise_ir::IrError::InvalidArgument(format!(
            "compute_each takes delayed calls; {} is an array",
            n.label()
        ))
        .into());
    }
    let each = crate::compute::run_graph_each(&plan_with(&nodes, opts)?, opts)?;
    Ok(each
        .into_iter()
        .zip(values)
        .map(|(mut blocks, d)| match blocks.pop() {
            Some(Ok(Value::Any(v))) => downcast(v, &d.node),
            Some(Ok(other)) => downcast(Arc::new(other) as AnyValue, &d.node),
            Some(Err(e)) => Err(e),
            None => Err(Error::Cancelled),
        })
        .collect())
}

/// Computes two delayed values of different types together.
pub fn compute2<A, B>(a: &Delayed<A>, b: &Delayed<B>) -> Result<(Arc<A>, Arc<B>)>
where
    A: Send + Sync + 'static,
    B: Send + Sync + 'static,
{
    let mut v = compute_all(&[&a.node, &b.node], &ComputeOptions::default())?.into_iter();
    let (x, y) = (v.next().expect("two"), v.next().expect("two"));
    Ok((downcast(x, &a.node)?, downcast(y, &b.node)?))
}

/// Computes many delayed values of one type together.
pub fn compute_many<T: Send + Sync + 'static>(
    values: &[Delayed<T>],
    opts: &ComputeOptions<'_>,
) -> Result<Vec<Arc<T>>> {
    let nodes: Vec<&Node> = values.iter().map(|d| &d.node).collect();
    compute_all(&nodes, opts)?
        .into_iter()
        .zip(values)
        .map(|(v, d)| downcast(v, &d.node))
        .collect()
}

/// A delayed constant: `value` as a task (Dask's `delayed(obj)`).
pub fn value<T: Send + Sync + 'static>(name: &str, value: T) -> Delayed<T> {
    let v: AnyValue = Arc::new(value);
    let f = TaskFn {
        name: name.to_string(),
        f: Arc::new(move |_: &[AnyValue]| Ok(v.clone())),
    };
    Delayed::new(Node::task(f, vec![]))
}

/// All of `parts` as one delayed list (the values are shared, not cloned), to pass many
/// delayed values to one call.
pub fn gather<T: Send + Sync + 'static>(name: &str, parts: &[Delayed<T>]) -> Delayed<Vec<Arc<T>>> {
    let f = TaskFn {
        name: name.to_string(),
        f: Arc::new(|vals: &[AnyValue]| {
            let list = vals
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    v.clone()
                        .downcast::<T>()
                        .map_err(|_| format!("part {k} is not a {}", type_name::<T>()))
                })
                .collect::<std::result::Result<Vec<Arc<T>>, String>>()?;
            Ok(Arc::new(list) as AnyValue)
        }),
    };
    let args = parts
        .iter()
        .map(|p| TaskArg::Node(p.node.clone()))
        .collect();
    Delayed::new(Node::task(f, args))
}

/// An argument of a delayed call: a lazy value or a plain one.
pub enum Arg<T> {
    /// A node's value (a delayed result or an array).
    Lazy(Node),
    /// A plain value.
    Value(T),
}

impl<T> From<Delayed<T>> for Arg<T> {
    fn from(d: Delayed<T>) -> Self {
        Arg::Lazy(d.node)
    }
}

impl<T> From<&Delayed<T>> for Arg<T> {
    fn from(d: &Delayed<T>) -> Self {
        Arg::Lazy(d.node.clone())
    }
}

impl<T: Send + Sync + 'static> From<T> for Arg<T> {
    fn from(v: T) -> Self {
        Arg::Value(v)
    }
}

impl<T: Send + Sync + 'static> Arg<T> {
    fn into_task_arg(self) -> TaskArg {
        match self {
            Arg::Lazy(n) => TaskArg::Node(n),
            Arg::Value(v) => TaskArg::Value(Arc::new(v)),
        }
    }
}

/// Argument `k` of a task as a `&T`, or an error naming the types.
fn arg<T: 'static>(vals: &[AnyValue], k: usize) -> std::result::Result<&T, String> {
    vals.get(k)
        .and_then(|v| v.downcast_ref::<T>())
        .ok_or_else(|| format!("argument {k} is not a {}", type_name::<T>()))
}

macro_rules! calls {
    ($($call:ident $try_call:ident ($($A:ident $a:ident $k:tt),*);)*) => {$(
        /// A delayed call of `f` (named `name`) on these arguments; see the module docs.
        #[allow(clippy::too_many_arguments)]
        pub fn $call<$($A: Send + Sync + 'static,)* R: Send + Sync + 'static>(
            name: &str,
            f: impl Fn($(&$A),*) -> R + Send + Sync + 'static,
            $($a: impl Into<Arg<$A>>,)*
        ) -> Delayed<R> {
            $try_call(name, move |$($a: &$A),*| Ok::<R, std::convert::Infallible>(f($($a),*)), $($a,)*)
        }

        /// A delayed call of a fallible `f`: an `Err` fails the task with its message.
        #[allow(clippy::too_many_arguments)]
        pub fn $try_call<$($A: Send + Sync + 'static,)* R: Send + Sync + 'static, E: Display>(
            name: &str,
            f: impl Fn($(&$A),*) -> std::result::Result<R, E> + Send + Sync + 'static,
            $($a: impl Into<Arg<$A>>,)*
        ) -> Delayed<R> {
            let func = TaskFn {
                name: name.to_string(),
                f: Arc::new(move |vals: &[AnyValue]| {
                    let _ = vals;
                    let r = f($(arg::<$A>(vals, $k)?),*).map_err(|e| e.to_string())?;
                    Ok(Arc::new(r) as AnyValue)
                }),
            };
            let args = vec![$($a.into().into_task_arg()),*];
            Delayed::new(Node::task(func, args))
        }
    )*};
}

calls! {
    call0 try_call0 ();
    call1 try_call1 (A a 0);
    call2 try_call2 (A a 0, B b 1);
    call3 try_call3 (A a 0, B b 1, C c 2);
    call4 try_call4 (A a 0, B b 1, C c 2, D d 3);
    call5 try_call5 (A a 0, B b 1, C c 2, D d 3, G g 4);
    call6 try_call6 (A a 0, B b 1, C c 2, D d 3, G g 4, H h 5);
}

/// A delayed call: `delayed!(f(a, b))` is `call2("f", f, a, b)`, and
/// `delayed!(try f(a, b))` is `try_call2("f", f, a, b)` for a function returning `Result`.
/// Arguments are `Delayed` values (or references to them), arrays' delayed forms, or plain
/// values; the function takes its arguments by reference. Up to 6 arguments.
#[macro_export]
macro_rules! delayed {
    (try $f:ident ( $($a:expr),* $(,)? )) => {
        $crate::delayed_call!(try_call, stringify!($f), $f; $($a),*)
    };
    ($f:ident ( $($a:expr),* $(,)? )) => {
        $crate::delayed_call!(call, stringify!($f), $f; $($a),*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! delayed_call {
    (call, $n:expr, $f:expr;) => {
        $crate::delayed::call0($n, $f)
    };
    (call, $n:expr, $f:expr; $a:expr) => {
        $crate::delayed::call1($n, $f, $a)
    };
    (call, $n:expr, $f:expr; $a:expr, $b:expr) => {
        $crate::delayed::call2($n, $f, $a, $b)
    };
    (call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr) => {
        $crate::delayed::call3($n, $f, $a, $b, $c)
    };
    (call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr, $d:expr) => {
        $crate::delayed::call4($n, $f, $a, $b, $c, $d)
    };
    (call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => {
        $crate::delayed::call5($n, $f, $a, $b, $c, $d, $e)
    };
    (call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $g:expr) => {
        $crate::delayed::call6($n, $f, $a, $b, $c, $d, $e, $g)
    };
    (try_call, $n:expr, $f:expr;) => {
        $crate::delayed::try_call0($n, $f)
    };
    (try_call, $n:expr, $f:expr; $a:expr) => {
        $crate::delayed::try_call1($n, $f, $a)
    };
    (try_call, $n:expr, $f:expr; $a:expr, $b:expr) => {
        $crate::delayed::try_call2($n, $f, $a, $b)
    };
    (try_call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr) => {
        $crate::delayed::try_call3($n, $f, $a, $b, $c)
    };
    (try_call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr, $d:expr) => {
        $crate::delayed::try_call4($n, $f, $a, $b, $c, $d)
    };
    (try_call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => {
        $crate::delayed::try_call5($n, $f, $a, $b, $c, $d, $e)
    };
    (try_call, $n:expr, $f:expr; $a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $g:expr) => {
        $crate::delayed::try_call6($n, $f, $a, $b, $c, $d, $e, $g)
    };
}

impl Array {
    /// The whole array as a delayed value (a `DynArray` when computed), to pass to delayed
    /// calls.
    pub fn to_delayed(&self) -> Result<Delayed<chunkwise_ir::DynArray>> {
        Ok(Delayed::new(self.node()?.clone()))
    }

    /// One block of the array (block coordinates) as a delayed value.
    pub fn block(&self, coords: &[u64]) -> Result<Delayed<chunkwise_ir::DynArray>> {
        let n = self.node()?;
        let nb = n.chunks().num_blocks();
        if coords.len() != nb.len() || coords.iter().zip(&nb).any(|(c, n)| c >= n) {
            return Err(chunkwise_ir::IrError::InvalidSlice(format!(
                "block {coords:?} of a grid of {nb:?} blocks"
            ))
            .into());
        }
        let items = n
            .chunks()
            .block_ranges(coords)
            .into_iter()
            .map(|r| chunkwise_ir::slice::SliceItem::Range {
                start: r.start,
                step: 1,
                count: r.end - r.start,
            })
            .collect();
        Ok(Delayed::new(Node::slice(n.clone(), items)?))
    }

    /// Every block as a delayed value, in C order (Dask's `to_delayed`).
    pub fn to_delayed_blocks(&self) -> Result<Vec<Delayed<chunkwise_ir::DynArray>>> {
        let nb = self.node()?.chunks().num_blocks();
        let total: u64 = nb.iter().product();
        let mut coords = vec![0; nb.len()];
        (0..total)
            .map(|b| {
                chunkwise_ir::grid::unravel_into(b, &nb, &mut coords);
                self.block(&coords)
            })
            .collect()
    }

    /// The array whose blocks are delayed values (see [`Delayed::to_array`]).
    pub fn from_delayed<T: Element>(
        parts: &[Delayed<ndarray::ArrayD<T>>],
        chunks: &[Vec<u64>],
    ) -> Result<Array> {
        Delayed::to_array(parts, chunks)
    }
}
