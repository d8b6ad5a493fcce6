//! [`Node`]: its accessors, content hashing, rebuilding on new inputs, and graph orders.

use super::{Blockwise, Distribution, Kernel, Layer, Meta, NodeId};
use crate::delayed::{TaskArg, TaskLayer};
use crate::dtype::{DType, Scalar};
use crate::error::IrError;
use crate::grid::ChunkGrid;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use twox_hash::XxHash3_64;

/// A layer with its metadata and content hash. Cloning is O(1).
#[derive(Clone)]
pub struct Node(Arc<NodeData>);

struct NodeData {
    id: NodeId,
    layer: Layer,
    meta: Meta,
}

impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.id() == other.id()
    }
}

impl Eq for Node {}

impl Hash for Node {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.id());
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({} {:016x})", self.label(), self.id())
    }
}

impl Node {
    pub(super) fn make(layer: Layer, meta: Meta) -> Node {
        // A 64-bit hash of good quality (XXH3): ids are what CSE and lowering merge by,
        // so two different layers must not collide. FxHash collided on in-memory arrays of
        // small whole floats, whose bit patterns differ only in their top bits.
        let mut h = XxHash3_64::with_seed(0);
        hash_layer(&layer, &mut h);
        meta.hash(&mut h);
        Node(Arc::new(NodeData {
            id: h.finish(),
            layer,
            meta,
        }))
    }

    /// The content hash: equal for nodes built from equal operations on equal inputs.
    pub fn id(&self) -> NodeId {
        self.0.id
    }

    /// The operation.
    pub fn layer(&self) -> &Layer {
        &self.0.layer
    }

    /// Output metadata.
    pub fn meta(&self) -> &Meta {
        &self.0.meta
    }

    /// Chunk grid.
    pub fn chunks(&self) -> &ChunkGrid {
        &self.0.meta.chunks
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.0.meta.dtype
    }

    /// Shape.
    pub fn shape(&self) -> Vec<u64> {
        self.0.meta.shape()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.meta.ndim()
    }

    /// Whether two handles point to the same allocation (not just equal content).
    pub fn ptr_eq(&self, other: &Node) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The input nodes, in order.
    pub fn inputs(&self) -> Vec<&Node> {
        match self.layer() {
            Layer::FromArray { .. }
            | Layer::Full { .. }
            | Layer::Random { .. }
            | Layer::Read { .. }
            | Layer::Arange { .. } => vec![],
            Layer::Blockwise(b) => b.inputs.iter().map(|(n, _)| n).collect(),
            Layer::Reduction(r) => vec![&r.input],
            Layer::Slice { input, .. }
            | Layer::Rechunk { input }
            | Layer::Transpose { input, .. }
            | Layer::Inline { input } => vec![input],
            Layer::Concatenate { inputs, .. } => inputs.iter().collect(),
            Layer::Task(t) => t
                .args
                .iter()
                .filter_map(|a| match a {
                    TaskArg::Node(n) => Some(n),
                    TaskArg::Value(_) => None,
                })
                .collect(),
            Layer::FromDelayed { parts } => parts.iter().collect(),
        }
    }

    /// The nodes whose tasks the tasks of this layer depend on: the inputs, with each
    /// [`Layer::Inline`] input replaced by its own dependencies (recursively).
    pub fn dep_nodes(&self) -> Vec<Node> {
        let mut out = Vec::new();
        for m in self.inputs() {
            match m.layer() {
                Layer::Inline { input } => out.extend(input.dep_nodes()),
                _ => out.push(m.clone()),
            }
        }
        out
    }

    /// Whether this layer computes nothing itself (it is a source).
    pub fn is_source(&self) -> bool {
        matches!(
            self.layer(),
            Layer::FromArray { .. }
                | Layer::Full { .. }
                | Layer::Random { .. }
                | Layer::Read { .. }
                | Layer::Arange { .. }
        )
    }

    /// The same operation on new inputs (in [`Node::inputs`] order), rebuilt through the
    /// validating constructors. Returns `self` when the inputs are the same nodes.
    pub fn with_inputs(&self, new: &[Node]) -> Result<Node, IrError> {
        let old = self.inputs();
        if old.len() != new.len() {
            return Err(IrError::InvalidArgument(format!(
                "{} takes {} inputs, got {}",
                self.label(),
                old.len(),
                new.len()
            )));
        }
        if old.iter().zip(new).all(|(a, b)| a.ptr_eq(b)) {
            return Ok(self.clone());
        }
        let one = || new[0].clone();
        match self.layer() {
            Layer::FromArray { .. }
            | Layer::Full { .. }
            | Layer::Random { .. }
            | Layer::Read { .. }
            | Layer::Arange { .. } => Ok(self.clone()),
            Layer::Blockwise(b) => Node::blockwise(Blockwise {
                out_ind: b.out_ind.clone(),
                inputs: b
                    .inputs
                    .iter()
                    .zip(new)
                    .map(|((_, ind), n)| (n.clone(), ind.clone()))
                    .collect(),
                new_axes: b.new_axes.clone(),
                kernel: b.kernel.clone(),
            }),
            Layer::Reduction(r) => Node::reduction(one(), r.op, &r.axes, r.keepdims, r.split_every),
            Layer::Slice { items, .. } => Node::slice(one(), items.clone()),
            Layer::Rechunk { .. } => Node::rechunk(one(), self.chunks().clone()),
            Layer::Transpose { perm, .. } => Node::transpose(one(), perm.clone()),
            Layer::Concatenate { axis, .. } => Node::concatenate(new.to_vec(), *axis),
            Layer::Inline { .. } => Node::inline(one()),
            Layer::Task(t) => {
                let mut it = new.iter();
                let args = t
                    .args
                    .iter()
                    .map(|a| match a {
                        TaskArg::Node(_) => TaskArg::Node(it.next().expect("one per node").clone()),
                        TaskArg::Value(v) => TaskArg::Value(v.clone()),
                    })
                    .collect();
                Ok(Node::make(
                    Layer::Task(TaskLayer {
                        func: t.func.clone(),
                        args,
                        key: t.key,
                    }),
                    self.meta().clone(),
                ))
            }
            Layer::FromDelayed { .. } => {
                Node::from_delayed(new.to_vec(), self.chunks().clone(), self.dtype())
            }
        }
    }

    /// A short human-readable name of the operation (`add`, `sum`, `slice`, ...).
    pub fn label(&self) -> String {
        match self.layer() {
            Layer::FromArray { .. } => "from-array".into(),
            Layer::Full { value } => format!("full({value})"),
            Layer::Random { dist, .. } => match dist {
                Distribution::Uniform { .. } => "random-uniform".into(),
                Distribution::Normal { .. } => "random-normal".into(),
            },
            Layer::Arange { .. } => "arange".into(),
            Layer::Read { .. } => "read-zarr".into(),
            Layer::Blockwise(b) => match &b.kernel {
                Kernel::Program(p) => p.name(),
                Kernel::Contract => "contract".into(),
                Kernel::Named(k) => k.name.clone(),
            },
            Layer::Reduction(r) => r.op.name().into(),
            Layer::Slice { .. } => "slice".into(),
            Layer::Rechunk { .. } => "rechunk".into(),
            Layer::Transpose { .. } => "transpose".into(),
            Layer::Concatenate { .. } => "concatenate".into(),
            Layer::Inline { input } => format!("inline {}", input.label()),
            Layer::Task(t) => t.label(),
            Layer::FromDelayed { .. } => "from-delayed".into(),
        }
    }

    /// Whether this node is a task (its value is not an array).
    pub fn is_task(&self) -> bool {
        matches!(self.layer(), Layer::Task(_))
    }
}

fn hash_layer(layer: &Layer, h: &mut XxHash3_64) {
    std::mem::discriminant(layer).hash(h);
    match layer {
        Layer::FromArray { data } => {
            data.dtype().hash(h);
            crate::with_array!(data, a => {
                a.shape().hash(h);
                for v in a.iter() {
                    hash_scalar(crate::array::Element::to_scalar(*v), h);
                }
            })
        }
        Layer::Full { value } => hash_scalar(*value, h),
        Layer::Random { seed, dist, window } => {
            seed.hash(h);
            window.hash(h);
            match dist {
                Distribution::Uniform { low, high } => (0u8, low.to_bits(), high.to_bits()).hash(h),
                Distribution::Normal { mean, std } => (1u8, mean.to_bits(), std.to_bits()).hash(h),
            }
        }
        Layer::Arange { start, step } => (start.to_bits(), step.to_bits()).hash(h),
        Layer::Read { source, window } => {
            (&source.location, &source.shape, source.dtype).hash(h);
            window.hash(h);
        }
        Layer::Blockwise(b) => {
            b.out_ind.hash(h);
            for (n, ind) in &b.inputs {
                n.id().hash(h);
                ind.hash(h);
            }
            b.new_axes.hash(h);
            match &b.kernel {
                Kernel::Program(p) => serde_json::to_string(&**p)
                    .expect("programs serialize")
                    .hash(h),
                Kernel::Contract => 1u8.hash(h),
                Kernel::Named(k) => (&k.name, &k.chunks).hash(h),
            }
        }
        Layer::Reduction(r) => {
            r.input.id().hash(h);
            r.op.hash(h);
            r.axes.hash(h);
            r.keepdims.hash(h);
            r.split_every.hash(h);
        }
        Layer::Slice { input, items } => {
            input.id().hash(h);
            items.hash(h);
        }
        Layer::Rechunk { input } => input.id().hash(h),
        Layer::Transpose { input, perm } => {
            input.id().hash(h);
            perm.hash(h);
        }
        Layer::Concatenate { inputs, axis } => {
            for n in inputs {
                n.id().hash(h);
            }
            axis.hash(h);
        }
        Layer::Inline { input } => input.id().hash(h),
        Layer::Task(t) => {
            t.func.name.hash(h);
            t.key.hash(h);
            for a in &t.args {
                match a {
                    TaskArg::Node(n) => n.id().hash(h),
                    TaskArg::Value(v) => (Arc::as_ptr(v) as *const () as usize).hash(h),
                }
            }
        }
        Layer::FromDelayed { parts } => {
            for p in parts {
                p.id().hash(h);
            }
        }
    }
}

/// Every bit of a value: the two parts of a complex number separately (`hash_bits`
/// folds a complex128 into 64 bits), so values with equal hashes are equal bit for bit.
fn hash_scalar(v: Scalar, h: &mut impl Hasher) {
    match v {
        Scalar::C128(c) => {
            h.write_u64(c.re.to_bits());
            h.write_u64(c.im.to_bits());
        }
        other => h.write_u64(other.hash_bits()),
    }
}

/// All nodes reachable from `roots`, each once, inputs before the nodes that use them.
pub fn topo_order(roots: &[Node]) -> Vec<Node> {
    order_by(roots, |n| n.inputs().into_iter().cloned().collect())
}

/// The nodes that get tasks when `roots` are lowered, dependencies first: like
/// [`topo_order`] but following [`Node::dep_nodes`], so inlined layers are skipped.
pub fn dep_order(roots: &[Node]) -> Vec<Node> {
    order_by(roots, Node::dep_nodes)
}

fn order_by(roots: &[Node], inputs_of: impl Fn(&Node) -> Vec<Node>) -> Vec<Node> {
    let mut seen = rustc_hash::FxHashSet::default();
    let mut out = Vec::new();
    // Iterative DFS: (node, next input to visit).
    let mut stack: Vec<(Node, usize)> = Vec::new();
    for r in roots {
        if !seen.insert(r.id()) {
            continue;
        }
        stack.push((r.clone(), 0));
        while let Some((n, i)) = stack.last_mut() {
            let inputs = inputs_of(n);
            if *i < inputs.len() {
                let next = inputs[*i].clone();
                *i += 1;
                if seen.insert(next.id()) {
                    stack.push((next, 0));
                }
            } else {
                let (n, _) = stack.pop().expect("stack is not empty");
                out.push(n);
            }
        }
    }
    out
}
