//! Slice pushdown: a slice moves below elementwise work and into sources, so only the
//! selected region is ever computed or produced.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [1000000000] chunks (1000000000/1000)
//! %1 = add(%0) a<-a {x0 + 1.0} : f64 [1000000000] chunks (1000000000/1000)
//! %2 = slice(%1) [5] : f64 [] chunks ()
//! outputs: %2
//!
//! after slice-pushdown:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } window=[5][1000000000] : f64 [] chunks ()
//! %1 = add(%0) <- {x0 + 1.0} : f64 [] chunks ()
//! outputs: %1
//! ```
//!
//! Rules:
//! - **Elementwise** (a blockwise program with broadcasting): each input is sliced by the
//!   items of its own axes (a broadcast axis keeps its one element), integer-indexed axes
//!   leave the index notation. Only when *every* consumer of the blockwise layer is a slice
//!   (or another elementwise layer that qualifies, so a slice moves down a whole chain in
//!   one pass) and it is not a requested output: pushing below a layer that is also used
//!   whole would compute the region twice.
//! - **Sources**: `full`, `random`, `read-zarr` and `from-array` take any slice exactly, new
//!   axes included (a random window keeps each element's value; a read window reads only
//!   the chunks that hold the selected elements; `from-array` slices its data, a view, no
//!   copy); `arange` takes a range.
//! - **Transposes**: `x.T[items]` becomes `(x[items'])'.T` with the items permuted (a
//!   transpose computes nothing, so this never duplicates work).
//! - Below elementwise work and transposes, new axes stay in a residual slice above the
//!   pushed one.
//!
//! The pass is guarded by the cost model: when slices that overlap would together compute
//! more than the layer they read ([`crate::Stats::cost`], shared layers counted once), the
//! pass manager keeps the graph as it was.

use crate::pass::{rewrite, Consumers, Pass, PassError, Rewritten};
use chunkwise_ir::slice::{compose, SliceItem};
use chunkwise_ir::{
    topo_order, with_array, Blockwise, Element, IrError, Kernel, Layer, Node, NodeId, Window,
};
use ndarray::SliceInfoElem;
use rustc_hash::FxHashSet;

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct SlicePushdown;

impl Pass for SlicePushdown {
    fn name(&self) -> &'static str {
        "slice-pushdown"
    }

    fn guarded(&self) -> bool {
        true
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        let through = slice_only(outputs);
        rewrite(self.name(), outputs, |orig, n, rewritten| {
            let Layer::Slice { input, items } = n.layer() else {
                return Ok(None);
            };
            let core: Vec<SliceItem> = items
                .iter()
                .copied()
                .filter(|i| *i != SliceItem::NewAxis)
                .collect();
            if input.is_source() {
                return push_source(input, items);
            }
            let orig_input = orig.inputs()[0];
            let pushed = match input.layer() {
                _ if through.contains(&orig_input.id()) => {
                    Some(push_elementwise(orig_input, &core, &through, rewritten)?)
                }
                Layer::Transpose { input: x, perm } => push_transpose(x, perm, &core)?,
                _ => None,
            };
            let Some(pushed) = pushed else {
                return Ok(None);
            };
            if core.len() == items.len() {
                return Ok(Some(pushed));
            }
            // New axes: a residual slice that selects all of the pushed result.
            let shape = pushed.shape();
            let mut ax = 0;
            let mut residual = Vec::with_capacity(items.len());
            for i in items {
                match i {
                    SliceItem::NewAxis => residual.push(SliceItem::NewAxis),
                    SliceItem::Range { .. } => {
                        residual.push(SliceItem::Range {
                            start: 0,
                            step: 1,
                            count: shape[ax],
                        });
                        ax += 1;
                    }
                    SliceItem::Index { .. } => {}
                }
            }
            Ok(Some(Node::slice(pushed, residual)?))
        })
    }
}

fn is_identity(n: &Node, items: &[SliceItem]) -> bool {
    items.len() == n.ndim()
        && items
            .iter()
            .zip(n.shape())
            .all(|(i, len)| i.is_identity(len))
}

/// `x[items]`, without a layer when the slice selects everything.
fn slice_of(x: &Node, items: Vec<SliceItem>) -> Result<Node, IrError> {
    if is_identity(x, &items) {
        return Ok(x.clone());
    }
    Node::slice(x.clone(), items)
}

/// The elementwise layers (programs without new axes) that every consumer reads through
/// a slice: each consumer is a slice or another such layer, and the layer is not an output.
/// A slice can move below all of them at once.
fn slice_only(outputs: &[Node]) -> FxHashSet<NodeId> {
    let consumers = Consumers::of(outputs);
    let mut through = FxHashSet::default();
    // Consumers come after their inputs in topological order: decide them first.
    for n in topo_order(outputs).iter().rev() {
        let elementwise = matches!(n.layer(), Layer::Blockwise(b)
            if matches!(b.kernel, Kernel::Program(_)) && b.new_axes.is_empty());
        let users = consumers.users(n);
        if elementwise
            && !consumers.is_output(n)
            && !users.is_empty()
            && users
                .iter()
                .all(|u| matches!(u.layer(), Layer::Slice { .. }) || through.contains(&u.id()))
        {
            through.insert(n.id());
        }
    }
    through
}

/// `p[core]` for an elementwise layer `p` (an original node), with the slice moved into its
/// inputs: through the inputs in `through` as well, into sources, else as a slice of the
/// input's rewritten version.
fn push_elementwise(
    p: &Node,
    core: &[SliceItem],
    through: &FxHashSet<NodeId>,
    rewritten: &Rewritten,
) -> Result<Node, IrError> {
    let Layer::Blockwise(b) = p.layer() else {
        unreachable!("`through` holds elementwise layers")
    };
    let out_shape = p.shape();
    let mut inputs = Vec::with_capacity(b.inputs.len());
    for (m, ind) in &b.inputs {
        let mut items = Vec::with_capacity(ind.len());
        let mut new_ind = Vec::with_capacity(ind.len());
        for (ax, s) in ind.iter().enumerate() {
            // Program inputs only use output symbols (no contraction).
            let pos = b.out_ind.iter().position(|t| t == s).unwrap_or(0);
            let broadcast = m.shape()[ax] == 1 && out_shape[pos] != 1;
            let item = match core[pos] {
                SliceItem::Range { .. } if broadcast => SliceItem::Range {
                    start: 0,
                    step: 1,
                    count: 1,
                },
                SliceItem::Index { .. } if broadcast => SliceItem::Index { index: 0 },
                other => other,
            };
            if !matches!(item, SliceItem::Index { .. }) {
                new_ind.push(*s);
            }
            items.push(item);
        }
        let new_m = &rewritten[&m.id()];
        let sliced = if is_identity(m, &items) {
            new_m.clone()
        } else if through.contains(&m.id()) {
            push_elementwise(m, &items, through, rewritten)?
        } else if new_m.is_source() {
            match push_source(new_m, &items)? {
                Some(x) => x,
                None => slice_of(new_m, items)?,
            }
        } else {
            slice_of(new_m, items)?
        };
        inputs.push((sliced, new_ind));
    }
    let out_ind = b
        .out_ind
        .iter()
        .zip(core)
        .filter(|(_, i)| !matches!(i, SliceItem::Index { .. }))
        .map(|(s, _)| *s)
        .collect();
    Node::blockwise(Blockwise {
        out_ind,
        inputs,
        new_axes: vec![],
        kernel: b.kernel.clone(),
    })
}

fn push_transpose(x: &Node, perm: &[usize], core: &[SliceItem]) -> Result<Option<Node>, IrError> {
    // Output axis i of the transpose is axis perm[i] of x.
    let mut items = vec![SliceItem::NewAxis; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        items[p] = core[i];
    }
    let kept: Vec<usize> = (0..perm.len())
        .filter(|&j| !matches!(items[j], SliceItem::Index { .. }))
        .collect();
    let new_perm: Vec<usize> = perm
        .iter()
        .filter_map(|p| kept.iter().position(|k| k == p))
        .collect();
    let sliced = slice_of(x, items)?;
    if new_perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(Some(sliced));
    }
    Ok(Some(Node::transpose(sliced, new_perm)?))
}

/// The window of a windowed source (`window`, or none: the whole of `src`) narrowed by the
/// slice `core`; `None` when the two do not compose.
fn narrow(src: &Node, window: Option<&Window>, core: &[SliceItem]) -> Option<Window> {
    match window {
        None => Some(Window {
            base: src.shape(),
            items: core.to_vec(),
        }),
        Some(w) => compose(&w.items, core).map(|items| Window {
            base: w.base.clone(),
            items,
        }),
    }
}

fn push_source(src: &Node, core: &[SliceItem]) -> Result<Option<Node>, IrError> {
    if is_identity(src, core) {
        return Ok(None);
    }
    // The chunks of the result are those of the slice.
    let sliced = Node::slice(src.clone(), core.to_vec())?;
    let chunks = sliced.chunks().clone();
    let dtype = src.dtype();
    Ok(Some(match src.layer() {
        Layer::Full { value } => Node::full(chunks, dtype, *value)?,
        Layer::Random { seed, dist, window } => {
            let Some(window) = narrow(src, window.as_ref(), core) else {
                return Ok(None);
            };
            Node::random_window(chunks, dtype, *seed, *dist, window)?
        }
        Layer::Read { source, window } => {
            let Some(window) = narrow(src, window.as_ref(), core) else {
                return Ok(None);
            };
            Node::read(chunks, source.clone(), Some(window))?
        }
        Layer::Arange { start, step } => match core {
            [SliceItem::Range {
                start: s,
                step: t,
                count,
            }] if *count > 0 => {
                Node::arange(chunks, dtype, start + *s as f64 * step, step * *t as f64)?
            }
            _ => return Ok(None),
        },
        Layer::FromArray { data } => {
            let info: Vec<SliceInfoElem> = core
                .iter()
                .map(|i| match *i {
                    SliceItem::Index { index } => SliceInfoElem::Index(index as isize),
                    SliceItem::Range { count: 0, .. } => SliceInfoElem::Slice {
                        start: 0,
                        end: Some(0),
                        step: 1,
                    },
                    SliceItem::Range { start, step, count } => {
                        let last = SliceItem::position(start, step, count - 1);
                        let (lo, hi) = (start.min(last), start.max(last));
                        SliceInfoElem::Slice {
                            start: lo as isize,
                            end: Some(hi as isize + 1),
                            step: step as isize,
                        }
                    }
                    SliceItem::NewAxis => SliceInfoElem::NewAxis,
                })
                .collect();
            let data = with_array!(data, a => Element::wrap(a.clone().slice_move(info.as_slice())));
            Node::from_array(data, chunks)?
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use crate::testing::{
        arange, assert_documented, before_after, random, range, slice, t, unary, with_scalar,
    };
    use chunkwise_ir::program::{BinaryOp, UnaryOp};
    use chunkwise_ir::slice::SliceArg;

    #[test]
    fn an_index_of_a_billion_elements_reaches_the_source() {
        let x = with_scalar(&random(&[1_000_000_000], &[1000], 1), BinaryOp::Add, 1.0);
        let text = before_after("slice-pushdown", &[slice(&x, &[SliceArg::Index(5)])]);
        insta::assert_snapshot!("slice_pushdown_billion", text);
        assert_documented(include_str!("slice_pushdown.rs"), &text);
    }

    /// `exp(x * 2)` of a 1000 × 1000 random `x`.
    fn exp_2x() -> chunkwise_ir::Node {
        let x = random(&[1000, 1000], &[100, 100], 3);
        unary(UnaryOp::Exp, &with_scalar(&x, BinaryOp::Mul, 2.0))
    }

    #[test]
    fn a_slice_moves_down_an_elementwise_chain() {
        let y = with_scalar(&exp_2x(), BinaryOp::Add, 1.0);
        let y = slice(&y, &[SliceArg::Index(5), range(None, Some(10), None)]);
        insta::assert_snapshot!(
            "slice_pushdown_elementwise",
            before_after("slice-pushdown", &[y])
        );
    }

    #[test]
    fn a_shared_node_keeps_its_slice() {
        // Pushing would compute the region twice.
        let e = exp_2x();
        let part = slice(&e, &[range(None, Some(10), None)]);
        insta::assert_snapshot!(
            "slice_pushdown_shared_node_stays",
            before_after("slice-pushdown", &[e, part])
        );
    }

    #[test]
    fn a_slice_of_a_transpose_reaches_the_source() {
        let x = random(&[1000, 1000], &[100, 100], 3);
        let y = slice(&t(&x), &[SliceArg::Index(3), range(None, Some(5), None)]);
        insta::assert_snapshot!(
            "slice_pushdown_transpose",
            before_after("slice-pushdown", &[y])
        );
    }

    #[test]
    fn an_arange_takes_a_range() {
        let b = slice(&arange(100, 10), &[range(Some(90), Some(10), Some(-4))]);
        insta::assert_snapshot!(
            "slice_pushdown_arange",
            before_after("slice-pushdown", &[b])
        );
    }
}
