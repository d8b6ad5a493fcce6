//! What the passes' unit tests share: the layers the `chunkwise` facade builds for `Array`
//! operations, made with the `chunkwise_ir` constructors (this crate cannot depend on the
//! facade), the before/after dump of one pass that the snapshots hold, and the check that a
//! module's documented example is that dump.

use crate::PassManager;
use chunkwise_ir::dump::layers_text;
use chunkwise_ir::program::{BinaryOp, ProgramBuilder, UnaryOp};
use chunkwise_ir::slice::{normalize, SliceArg};
use chunkwise_ir::{
    Blockwise, ChunkGrid, DType, Distribution, IrError, Kernel, Kind, Node, ReduceOp, Scalar,
};
use std::sync::Arc;

/// Index symbols of elementwise layers, as the facade assigns them.
const SYMS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

/// `Array::random_uniform(shape, chunks, seed)`.
pub fn random(shape: &[u64], chunks: &[u64], seed: u64) -> Node {
    let uniform = Distribution::Uniform {
        low: 0.0,
        high: 1.0,
    };
    let grid = ChunkGrid::regular(shape, chunks).unwrap();
    Node::random(grid, DType::F64, seed, uniform).unwrap()
}

/// `Array::arange(0, n, 1, chunk)`: i64.
pub fn arange(n: u64, chunk: u64) -> Node {
    let grid = ChunkGrid::regular(&[n], &[chunk]).unwrap();
    Node::arange(grid, DType::I64, 0.0, 1.0).unwrap()
}

/// One elementwise operand: an array or an f64 scalar (weakly typed, as in the facade).
pub enum Operand<'a> {
    /// An array.
    Array(&'a Node),
    /// A scalar.
    F64(f64),
}

/// `Array::elementwise` on operands of equal shapes and chunks: `build` gets one
/// instruction per operand.
pub fn elementwise(
    operands: &[Operand],
    build: impl FnOnce(&mut ProgramBuilder, &[u32]) -> Result<u32, IrError>,
) -> Node {
    let arrays: Vec<&Node> = operands
        .iter()
        .filter_map(|o| match o {
            Operand::Array(a) => Some(*a),
            Operand::F64(_) => None,
        })
        .collect();
    let out_ind = SYMS[..arrays[0].ndim()].to_vec();
    let mut b = ProgramBuilder::new(arrays.iter().map(|a| a.dtype()).collect());
    let scalar_dtype = arrays[0].dtype().promote_scalar(Kind::Float);
    let mut k = 0;
    let ins: Vec<u32> = operands
        .iter()
        .map(|o| match o {
            Operand::Array(_) => {
                k += 1;
                b.input(k - 1)
            }
            Operand::F64(v) => b.constant(Scalar::F64(*v).cast(scalar_dtype)),
        })
        .collect();
    let out = build(&mut b, &ins).unwrap();
    Node::blockwise(Blockwise {
        inputs: arrays
            .iter()
            .map(|a| ((*a).clone(), out_ind.clone()))
            .collect(),
        out_ind,
        new_axes: vec![],
        kernel: Kernel::Program(Arc::new(b.finish(out))),
    })
    .unwrap()
}

/// `f(a)`.
pub fn unary(f: UnaryOp, a: &Node) -> Node {
    elementwise(&[Operand::Array(a)], |b, x| b.unary(f, x[0]))
}

/// `a <f> b` for two operands.
pub fn binary(a: Operand, f: BinaryOp, b: Operand) -> Node {
    elementwise(&[a, b], |bld, x| bld.binary(f, x[0], x[1]))
}

/// `a <f> c` for a scalar `c`.
pub fn with_scalar(a: &Node, f: BinaryOp, c: f64) -> Node {
    binary(Operand::Array(a), f, Operand::F64(c))
}

/// `a <f> b` for two arrays.
pub fn arrays(a: &Node, f: BinaryOp, b: &Node) -> Node {
    binary(Operand::Array(a), f, Operand::Array(b))
}

/// `exp(x) - 1 / x`: a diamond over `x`, the example of root and reduction fusion.
pub fn exp_minus_reciprocal(x: &Node) -> Node {
    let reciprocal = binary(Operand::F64(1.0), BinaryOp::Div, Operand::Array(x));
    arrays(&unary(UnaryOp::Exp, x), BinaryOp::Sub, &reciprocal)
}

/// `m + m.T` for a 6 × 6 random `m`: the example of reading through a transpose.
pub fn x_plus_xt() -> Node {
    let m = random(&[6, 6], &[3, 3], 2);
    arrays(&m, BinaryOp::Add, &t(&m))
}

/// `Array::reduce` over `axes` with the facade's defaults (no kept dims, `split_every` 4).
pub fn reduce(a: &Node, op: ReduceOp, axes: &[usize]) -> Node {
    Node::reduction(a.clone(), op, axes, false, 4).unwrap()
}

/// `Array::slice` (NumPy semantics), without eliding identity slices as the facade does.
pub fn slice(a: &Node, args: &[SliceArg]) -> Node {
    Node::slice(a.clone(), normalize(&a.shape(), args).unwrap()).unwrap()
}

/// `start:stop:step`, each optional.
pub fn range(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> SliceArg {
    SliceArg::Range { start, stop, step }
}

/// `Array::transpose`.
pub fn transpose(a: &Node, perm: &[usize]) -> Node {
    Node::transpose(a.clone(), perm.to_vec()).unwrap()
}

/// `Array::t`: axes reversed.
pub fn t(a: &Node) -> Node {
    transpose(a, &(0..a.ndim()).rev().collect::<Vec<_>>())
}

/// `Array::matmul` of two matrices with matching chunks.
pub fn matmul(a: &Node, b: &Node) -> Node {
    Node::blockwise(Blockwise {
        out_ind: b"IJ".to_vec(),
        inputs: vec![(a.clone(), b"IK".to_vec()), (b.clone(), b"KJ".to_vec())],
        new_axes: vec![],
        kernel: Kernel::Contract,
    })
    .unwrap()
}

/// The graph of `outputs` before and after running only the pass `name` of the standard
/// pipeline (guarded as there), as [`layers_text`] dumps it.
pub fn before_after(name: &str, outputs: &[Node]) -> String {
    let pm = PassManager::standard().only(&[name]);
    let after = pm.run(outputs).unwrap().outputs;
    format!(
        "before:\n{}\nafter {name}:\n{}",
        layers_text(outputs),
        layers_text(&after)
    )
}

/// Asserts that the first ```` ```text ```` block of the `//!` documentation of `source` (a
/// module's source, `include_str!`) is `dump` (a [`before_after`]), so the documented
/// example is what the pass really does.
pub fn assert_documented(source: &str, dump: &str) {
    let doc: Vec<&str> = source
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .skip_while(|l| *l != "```text")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    assert_eq!(
        doc.join("\n"),
        dump.trim_end(),
        "the module's documented example"
    );
}
