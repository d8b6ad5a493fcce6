//! Property tests: random expression graphs over random shapes and chunkings, evaluated
//! lazily by chunkwise and eagerly by a small, independent NumPy-semantics interpreter over
//! `ndarray` (see `Oracle` below), then compared.
//!
//! Expressions are generated from a "choice tape" (a `Vec<u32>` drawn by proptest): every
//! random decision of the generator reads the next number, and an exhausted tape reads 0,
//! which always means the simplest choice (a leaf, the first option, ...). Shrinking the
//! tape therefore shrinks the expression.
//!
//! Float results are compared with a relative tolerance of 1e-9 scaled by a propagated
//! magnitude bound (so that reductions whose summation order differs from the sequential
//! oracle cannot fail spuriously), NaN == NaN, infinities exactly; ints and bools exactly.
//! Operations that are discontinuous (comparisons, floor, casts to int, argmin, ...) are
//! only ever applied to *exact* subexpressions (no order-dependent float reduction or float
//! matmul below them), so every comparison is meaningful.

use chunkwise::{Array, BinaryOp, ComputeOptions, DType, DynArray, Operand, PassManager, SliceArg};
use chunkwise_ir::{ChunkGrid, Node};
use ndarray::{ArrayD, Dimension, IxDyn};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::fmt;

// ---------------------------------------------------------------------------------------
// Choice tape
// ---------------------------------------------------------------------------------------

struct Tape {
    d: Vec<u32>,
    i: usize,
}

impl Tape {
    fn next(&mut self) -> u32 {
        let v = self.d.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        v
    }
    /// Uniform in `0..n` (0 when the tape is exhausted).
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.next() as usize % n
        }
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            lo
        } else {
            lo + self.below(hi - lo + 1)
        }
    }
    /// True with probability `pct` percent (true on an exhausted tape).
    fn chance(&mut self, pct: u32) -> bool {
        self.next() % 100 < pct
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

/// splitmix64, for leaf element values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ty {
    B,
    I,
    F,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Sc {
    B(bool),
    I(i64),
    F(f64),
}

impl Sc {
    fn ty(self) -> Ty {
        match self {
            Sc::B(_) => Ty::B,
            Sc::I(_) => Ty::I,
            Sc::F(_) => Ty::F,
        }
    }
    fn operand(self) -> Operand {
        match self {
            Sc::B(v) => v.into(),
            Sc::I(v) => v.into(),
            Sc::F(v) => v.into(),
        }
    }
    fn val(self) -> Val {
        let s = IxDyn(&[]);
        match self {
            Sc::B(v) => Val::B(ArrayD::from_elem(s, v)),
            Sc::I(v) => Val::I(ArrayD::from_elem(s, v)),
            Sc::F(v) => Val::f(ArrayD::from_elem(s, v)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bop {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Rem,
    Min,
    Max,
    Pow,
    And,
    Or,
    Xor,
    Copysign,
    Hypot,
    Logaddexp,
    Nextafter,
    Shl,
    Shr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Uop {
    Neg,
    Abs,
    Square,
    Sign,
    /// `exp(2 tanh(x))` (a safe domain for exp).
    ExpS,
    /// `log(|x| + 1)`.
    LogA,
    /// `sqrt(|x|)`.
    SqrtA,
    Sin,
    Cos,
    Tanh,
    Arcsinh,
    Floor,
    Ceil,
    Round,
    Trunc,
    Not,
    IsNan,
    IsFinite,
    Signbit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cop {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rop {
    Sum,
    Prod,
    Mean,
    Var(u32),
    Std(u32),
    Min,
    Max,
    Any,
    All,
}

#[derive(Clone, Debug)]
enum Chunking {
    Regular(Vec<u64>),
    Explicit(Vec<Vec<u64>>),
}

#[derive(Clone, Debug)]
enum Expr {
    Leaf(usize),
    Bin(Bop, Box<Expr>, Box<Expr>),
    /// Binary operation with a scalar; `true`: the scalar is the left operand.
    BinS(Bop, Box<Expr>, Sc, bool),
    Un(Uop, Box<Expr>),
    Cmp(Cop, Box<Expr>, Box<Expr>),
    CmpS(Cop, Box<Expr>, Sc),
    Where(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Box<Expr>, Ty),
    Red(Rop, Box<Expr>, Option<Vec<isize>>, bool),
    /// argmax (`true`) / argmin over an axis or everything.
    Arg(bool, Box<Expr>, Option<isize>),
    Slice(Box<Expr>, Vec<SliceArg>),
    /// Rechunk to the first chunking in variant 0, to the second in variant 1.
    Rechunk(Box<Expr>, [Chunking; 2]),
    Transpose(Box<Expr>, Vec<usize>),
    MatMul(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Whether the value does not depend on the chunking at all (no float reduction whose
    /// summation order depends on the chunks, no float matmul).
    fn is_exact(&self, leaves: &[Leaf]) -> bool {
        self.ty(leaves).is_some_and(|_| self.exact_inner(leaves))
    }
    fn exact_inner(&self, leaves: &[Leaf]) -> bool {
        match self {
            Expr::Leaf(_) => true,
            Expr::Bin(_, a, b) | Expr::Cmp(_, a, b) => {
                a.exact_inner(leaves) && b.exact_inner(leaves)
            }
            Expr::BinS(_, a, _, _)
            | Expr::Un(_, a)
            | Expr::CmpS(_, a, _)
            | Expr::Cast(a, _)
            | Expr::Arg(_, a, _)
            | Expr::Slice(a, _)
            | Expr::Rechunk(a, _)
            | Expr::Transpose(a, _) => a.exact_inner(leaves),
            Expr::Where(c, a, b) => {
                c.exact_inner(leaves) && a.exact_inner(leaves) && b.exact_inner(leaves)
            }
            Expr::Red(op, a, _, _) => {
                let inexact = match op {
                    Rop::Mean | Rop::Var(_) | Rop::Std(_) => true,
                    Rop::Sum | Rop::Prod => a.ty(leaves) == Some(Ty::F),
                    _ => false,
                };
                !inexact && a.exact_inner(leaves)
            }
            Expr::MatMul(a, b) => {
                a.ty(leaves) != Some(Ty::F)
                    && b.ty(leaves) != Some(Ty::F)
                    && a.exact_inner(leaves)
                    && b.exact_inner(leaves)
            }
        }
    }
    fn ty(&self, leaves: &[Leaf]) -> Option<Ty> {
        Some(match self {
            Expr::Leaf(i) => leaves[*i].val.ty(),
            Expr::Bin(op, a, b) => bin_ty(*op, a.ty(leaves)?, b.ty(leaves)?),
            Expr::BinS(op, a, s, _) => bin_ty(*op, a.ty(leaves)?, s.ty()),
            Expr::Un(op, a) => match op {
                Uop::Neg
                | Uop::Abs
                | Uop::Square
                | Uop::Sign
                | Uop::Round
                | Uop::Trunc
                | Uop::Not => a.ty(leaves)?,
                Uop::IsNan | Uop::IsFinite | Uop::Signbit => Ty::B,
                _ => Ty::F,
            },
            Expr::Cmp(..) | Expr::CmpS(..) => Ty::B,
            Expr::Where(_, a, b) => a.ty(leaves)?.max(b.ty(leaves)?),
            Expr::Cast(_, t) => *t,
            Expr::Red(op, a, _, _) => match op {
                Rop::Sum | Rop::Prod => {
                    if a.ty(leaves)? == Ty::F {
                        Ty::F
                    } else {
                        Ty::I
                    }
                }
                Rop::Mean | Rop::Var(_) | Rop::Std(_) => Ty::F,
                Rop::Min | Rop::Max => a.ty(leaves)?,
                Rop::Any | Rop::All => Ty::B,
            },
            Expr::Arg(..) => Ty::I,
            Expr::Slice(a, _) | Expr::Rechunk(a, _) | Expr::Transpose(a, _) => a.ty(leaves)?,
            Expr::MatMul(a, b) => a.ty(leaves)?.max(b.ty(leaves)?),
        })
    }
}

fn bin_ty(op: Bop, a: Ty, b: Ty) -> Ty {
    match op {
        Bop::Div => Ty::F,
        _ => a.max(b),
    }
}

#[derive(Clone)]
struct Leaf {
    val: Val,
    chunks: [Chunking; 2],
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.val {
            Val::F(a, _) => write!(f, "F{:?} {:?}", a.shape(), a.iter().collect::<Vec<_>>())?,
            Val::I(a) => write!(f, "I{:?} {:?}", a.shape(), a.iter().collect::<Vec<_>>())?,
            Val::B(a) => write!(f, "B{:?} {:?}", a.shape(), a.iter().collect::<Vec<_>>())?,
        }
        write!(f, " chunks {:?} / {:?}", self.chunks[0], self.chunks[1])
    }
}

#[derive(Clone)]
struct Case {
    leaves: Vec<Leaf>,
    expr: Expr,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "expr: {:?}", self.expr)?;
        for (i, l) in self.leaves.iter().enumerate() {
            writeln!(f, "leaf {i}: {l:?}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

struct Gen {
    t: Tape,
    leaves: Vec<Leaf>,
    /// Whether the value being generated feeds an elementwise operation through structural
    /// operations (slice, rechunk, transpose) only.
    elem: bool,
}
const FSCALARS: &[f64] = &[0.0, 1.0, -1.0, 2.5, -0.5, 3.0, 0.25, -2.0];

impl Gen {
    fn new(tape: Vec<u32>) -> Gen {
        Gen {
            t: Tape { d: tape, i: 0 },
            leaves: vec![],
            elem: false,
        }
    }

    fn len(&mut self) -> usize {
        match self.t.below(20) {
            0 => 0,
            1..=4 => 1,
            5..=14 => self.t.range(2, 5),
            _ => self.t.range(6, 12),
        }
    }

    fn shape(&mut self, max_nd: usize) -> Vec<usize> {
        let nd = self.t.range(0, max_nd);
        (0..nd).map(|_| self.len()).collect()
    }

    fn axis_chunks(&mut self, len: usize) -> Vec<u64> {
        if len == 0 {
            return if self.t.chance(50) { vec![] } else { vec![0] };
        }
        let mut out = vec![];
        let mut left = len;
        while left > 0 {
            if self.t.chance(5) {
                out.push(0); // an empty chunk in an explicit list is allowed
            }
            let c = if self.t.chance(30) {
                left
            } else {
                self.t.range(1, left.min(4))
            };
            out.push(c as u64);
            left -= c;
        }
        out
    }

    fn chunking(&mut self, shape: &[usize]) -> Chunking {
        if self.t.chance(50) {
            Chunking::Regular(
                shape
                    .iter()
                    .map(|&l| match self.t.below(4) {
                        0 => l.max(1) as u64,
                        1 => 1,
                        _ => self.t.range(1, l.max(1)) as u64,
                    })
                    .collect(),
            )
        } else {
            Chunking::Explicit(shape.iter().map(|&l| self.axis_chunks(l)).collect())
        }
    }

    fn leaf(&mut self, ty: Ty, shape: &[usize]) -> Expr {
        // Reuse an existing leaf of this type and shape sometimes: graphs, not just trees.
        if self.t.chance(30) {
            if let Some(i) = self
                .leaves
                .iter()
                .position(|l| l.val.ty() == ty && l.val.shape() == shape)
            {
                return Expr::Leaf(i);
            }
        }
        let n: usize = shape.iter().product();
        let sh = IxDyn(shape);
        // Element values come from a small PRNG seeded from the tape (one tape entry per
        // leaf instead of one per element).
        let style = self.t.below(3);
        let mut r = Rng(self.t.next() as u64 * 0x9E37_79B9 + 1);
        let val = match ty {
            Ty::F => {
                let v: Vec<f64> = (0..n)
                    .map(|_| match style {
                        0 => (r.below(25) as f64 - 12.0) / 4.0, // many ties
                        1 => r.unit() * 6.0 - 3.0,
                        _ => match r.below(20) {
                            0 => f64::NAN,
                            1 => 0.0,
                            2 => f64::INFINITY,
                            3 => f64::NEG_INFINITY,
                            4 => -0.0,
                            _ => r.unit() * 6.0 - 3.0,
                        },
                    })
                    .collect();
                Val::f(ArrayD::from_shape_vec(sh, v).unwrap())
            }
            Ty::I => {
                let v: Vec<i64> = (0..n).map(|_| r.below(11) as i64 - 5).collect();
                Val::I(ArrayD::from_shape_vec(sh, v).unwrap())
            }
            Ty::B => {
                let v: Vec<bool> = (0..n).map(|_| r.below(2) == 1).collect();
                Val::B(ArrayD::from_shape_vec(sh, v).unwrap())
            }
        };
        let chunks = [self.chunking(shape), self.chunking(shape)];
        self.leaves.push(Leaf { val, chunks });
        Expr::Leaf(self.leaves.len() - 1)
    }

    /// Shapes of `n` operands that broadcast exactly to `shape`.
    fn bcast(&mut self, shape: &[usize], n: usize) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]; n];
        for &d in shape {
            let full = self.t.below(n);
            for (k, o) in out.iter_mut().enumerate() {
                if d != 1 && k != full && self.t.chance(40) {
                    o.push(1);
                } else {
                    o.push(d);
                }
            }
        }
        // Drop leading length-1 axes of all operands but one (which keeps the full rank).
        let keep = self.t.below(n);
        for (k, o) in out.iter_mut().enumerate() {
            if k == keep {
                continue;
            }
            let lead = o.iter().take_while(|&&d| d == 1).count();
            let drop = self.t.range(0, lead);
            o.drain(..drop);
        }
        out
    }

    /// A subexpression consumed by a structural operation.
    fn sub(&mut self, ty: Ty, shape: &[usize], depth: u32, exact: bool) -> Box<Expr> {
        Box::new(self.gen(ty, shape, depth, exact))
    }

    /// A subexpression consumed by an elementwise (`elem`) or other computing operation.
    fn sub_in(
        &mut self,
        elem: bool,
        ty: Ty,
        shape: &[usize],
        depth: u32,
        exact: bool,
    ) -> Box<Expr> {
        let saved = std::mem::replace(&mut self.elem, elem);
        let e = self.sub(ty, shape, depth, exact);
        self.elem = saved;
        e
    }

    fn gen(&mut self, ty: Ty, shape: &[usize], depth: u32, exact: bool) -> Expr {
        if depth == 0 || self.t.chance(10) {
            return self.leaf(ty, shape);
        }
        let d = depth - 1;
        for _ in 0..6 {
            let e = match self.t.below(12) {
                0 => self.gen_bin(ty, shape, d, exact),
                1 => self.gen_bin_scalar(ty, shape, d, exact),
                2 => self.gen_unary(ty, shape, d, exact),
                3 => self.gen_where(ty, shape, d, exact),
                4 => self.gen_cast(ty, shape, d),
                5 => self.gen_reduce(ty, shape, d, exact),
                6 => self.gen_arg(ty, shape, d),
                7 | 8 => self.gen_slice(ty, shape, d, exact),
                9 => {
                    let c = [self.chunking(shape), self.chunking(shape)];
                    Some(Expr::Rechunk(self.sub(ty, shape, d, exact), c))
                }
                10 => self.gen_transpose(ty, shape, d, exact),
                _ => {
                    if ty == Ty::B {
                        self.gen_cmp(shape, d)
                    } else {
                        self.gen_matmul(ty, shape, d, exact)
                    }
                }
            };
            if let Some(e) = e {
                return e;
            }
        }
        self.leaf(ty, shape)
    }

    fn gen_bin(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        let sh = self.bcast(shape, 2);
        let (op, ta, tb) = match ty {
            Ty::F => {
                let op = self.t.pick(&[
                    Bop::Add,
                    Bop::Sub,
                    Bop::Mul,
                    Bop::Div,
                    Bop::FloorDiv,
                    Bop::Rem,
                    Bop::Min,
                    Bop::Max,
                    Bop::Pow,
                    Bop::Copysign,
                    Bop::Hypot,
                    Bop::Logaddexp,
                    Bop::Nextafter,
                ]);
                let other = self.t.pick(&[Ty::F, Ty::I, Ty::B]);
                if op == Bop::Div && self.t.chance(30) {
                    (op, Ty::I, self.t.pick(&[Ty::I, Ty::F]))
                } else if self.t.chance(50) {
                    (op, Ty::F, other)
                } else {
                    (op, other, Ty::F)
                }
            }
            Ty::I => {
                let op = self.t.pick(&[
                    Bop::Add,
                    Bop::Sub,
                    Bop::Mul,
                    Bop::FloorDiv,
                    Bop::Rem,
                    Bop::Min,
                    Bop::Max,
                    Bop::And,
                    Bop::Or,
                    Bop::Xor,
                    Bop::Shl,
                    Bop::Shr,
                ]);
                let other = self.t.pick(&[Ty::I, Ty::B]);
                if self.t.chance(50) {
                    (op, Ty::I, other)
                } else {
                    (op, other, Ty::I)
                }
            }
            Ty::B => (
                self.t.pick(&[
                    Bop::And,
                    Bop::Or,
                    Bop::Xor,
                    Bop::Add,
                    Bop::Mul,
                    Bop::Min,
                    Bop::Max,
                ]),
                Ty::B,
                Ty::B,
            ),
        };
        // Discontinuous or badly conditioned operations only see exact operands.
        let ex = exact
            || matches!(
                op,
                Bop::Div | Bop::FloorDiv | Bop::Rem | Bop::Pow | Bop::Copysign | Bop::Nextafter
            );
        Some(Expr::Bin(
            op,
            self.sub_in(true, ta, &sh[0], d, ex),
            self.sub_in(true, tb, &sh[1], d, ex),
        ))
    }

    fn gen_bin_scalar(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        let left = self.t.chance(30);
        let (op, ta, s) = match ty {
            Ty::F => {
                let op = self.t.pick(&[
                    Bop::Add,
                    Bop::Sub,
                    Bop::Mul,
                    Bop::Div,
                    Bop::Min,
                    Bop::Max,
                    Bop::Pow,
                    Bop::FloorDiv,
                    Bop::Rem,
                    Bop::Copysign,
                    Bop::Hypot,
                    Bop::Logaddexp,
                    Bop::Nextafter,
                ]);
                let (ta, s) = match self.t.below(3) {
                    0 => (Ty::F, Sc::I(self.t.below(7) as i64 - 3)),
                    1 => (self.t.pick(&[Ty::I, Ty::B]), Sc::F(self.t.pick(FSCALARS))),
                    _ => (Ty::F, Sc::F(self.t.pick(FSCALARS))),
                };
                let s = if op == Bop::Pow && !left {
                    match s {
                        Sc::F(_) => Sc::F(self.t.pick(&[2.0, 3.0, 0.5, -1.0])),
                        Sc::I(_) => Sc::I(self.t.range(0, 3) as i64),
                        s => s,
                    }
                } else {
                    s
                };
                (op, ta, s)
            }
            Ty::I => {
                let op = self.t.pick(&[
                    Bop::Add,
                    Bop::Sub,
                    Bop::Mul,
                    Bop::FloorDiv,
                    Bop::Rem,
                    Bop::Min,
                    Bop::Max,
                    Bop::Pow,
                    Bop::And,
                    Bop::Or,
                    Bop::Xor,
                    Bop::Shl,
                    Bop::Shr,
                ]);
                let ta = self.t.pick(&[Ty::I, Ty::I, Ty::B]);
                if op == Bop::Pow {
                    // int ** negative int is an error in NumPy: keep exponents >= 0
                    return Some(Expr::BinS(
                        op,
                        self.sub_in(true, Ty::I, shape, d, true),
                        Sc::I(self.t.range(0, 3) as i64),
                        false,
                    ));
                }
                (op, ta, Sc::I(self.t.below(9) as i64 - 4))
            }
            Ty::B => (
                self.t.pick(&[Bop::And, Bop::Or, Bop::Xor]),
                Ty::B,
                Sc::B(self.t.chance(50)),
            ),
        };
        let ex = exact
            || matches!(
                op,
                Bop::FloorDiv | Bop::Rem | Bop::Pow | Bop::Copysign | Bop::Nextafter
            )
            || (op == Bop::Div && left);
        Some(Expr::BinS(op, self.sub_in(true, ta, shape, d, ex), s, left))
    }

    fn gen_unary(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        let (op, ta) = match ty {
            Ty::F => {
                let op = self.t.pick(&[
                    Uop::Neg,
                    Uop::Abs,
                    Uop::Square,
                    Uop::Sign,
                    Uop::ExpS,
                    Uop::LogA,
                    Uop::SqrtA,
                    Uop::Sin,
                    Uop::Cos,
                    Uop::Tanh,
                    Uop::Arcsinh,
                    Uop::Floor,
                    Uop::Ceil,
                    Uop::Round,
                    Uop::Trunc,
                ]);
                let math = matches!(
                    op,
                    Uop::ExpS
                        | Uop::LogA
                        | Uop::SqrtA
                        | Uop::Sin
                        | Uop::Cos
                        | Uop::Tanh
                        | Uop::Arcsinh
                );
                let ta = if math && self.t.chance(30) {
                    Ty::I
                } else {
                    Ty::F
                };
                (op, ta)
            }
            Ty::I => (
                self.t.pick(&[
                    Uop::Neg,
                    Uop::Abs,
                    Uop::Square,
                    Uop::Sign,
                    Uop::Round,
                    Uop::Trunc,
                    Uop::Not,
                ]),
                Ty::I,
            ),
            Ty::B => match self.t.below(4) {
                0 => (Uop::Not, Ty::B),
                1 => (Uop::IsNan, self.t.pick(&[Ty::F, Ty::I])),
                // Not on floats: the sign bit of a NaN that arithmetic makes is the
                // platform's (tests/numpy_reference.rs checks signbit on explicit NaNs).
                2 => (Uop::Signbit, self.t.pick(&[Ty::I, Ty::B])),
                _ => (Uop::IsFinite, Ty::F),
            },
        };
        let ex = exact
            || matches!(
                op,
                Uop::Sign
                    | Uop::SqrtA
                    | Uop::Floor
                    | Uop::Ceil
                    | Uop::Round
                    | Uop::Trunc
                    | Uop::IsNan
                    | Uop::IsFinite
                    | Uop::Signbit
            );
        Some(Expr::Un(op, self.sub_in(true, ta, shape, d, ex)))
    }

    fn gen_where(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        let sh = self.bcast(shape, 3);
        let (ta, tb) = match ty {
            Ty::F => {
                let o = self.t.pick(&[Ty::F, Ty::I, Ty::B]);
                if self.t.chance(50) {
                    (Ty::F, o)
                } else {
                    (o, Ty::F)
                }
            }
            Ty::I => {
                let o = self.t.pick(&[Ty::I, Ty::B]);
                if self.t.chance(50) {
                    (Ty::I, o)
                } else {
                    (o, Ty::I)
                }
            }
            Ty::B => (Ty::B, Ty::B),
        };
        let c = self.sub_in(true, Ty::B, &sh[0], d, true);
        Some(Expr::Where(
            c,
            self.sub_in(true, ta, &sh[1], d, exact),
            self.sub_in(true, tb, &sh[2], d, exact),
        ))
    }

    fn gen_cast(&mut self, ty: Ty, shape: &[usize], d: u32) -> Option<Expr> {
        let from = match ty {
            Ty::F => self.t.pick(&[Ty::I, Ty::B]),
            Ty::I => self.t.pick(&[Ty::F, Ty::B]),
            Ty::B => self.t.pick(&[Ty::F, Ty::I]),
        };
        Some(Expr::Cast(self.sub_in(true, from, shape, d, true), ty))
    }

    fn gen_cmp(&mut self, shape: &[usize], d: u32) -> Option<Expr> {
        let op = self
            .t
            .pick(&[Cop::Eq, Cop::Ne, Cop::Lt, Cop::Le, Cop::Gt, Cop::Ge]);
        if self.t.chance(35) {
            let ta = self.t.pick(&[Ty::F, Ty::I]);
            let s = if self.t.chance(50) {
                Sc::I(self.t.below(5) as i64 - 2)
            } else {
                Sc::F(self.t.pick(FSCALARS))
            };
            return Some(Expr::CmpS(op, self.sub_in(true, ta, shape, d, true), s));
        }
        let sh = self.bcast(shape, 2);
        let (ta, tb) = if matches!(op, Cop::Eq | Cop::Ne) && self.t.chance(20) {
            (Ty::B, Ty::B)
        } else {
            (self.t.pick(&[Ty::F, Ty::I]), self.t.pick(&[Ty::F, Ty::I]))
        };
        Some(Expr::Cmp(
            op,
            self.sub_in(true, ta, &sh[0], d, true),
            self.sub_in(true, tb, &sh[1], d, true),
        ))
    }

    /// Axes to reduce so that the result has `shape`, and the input shape.
    fn reduce_axes(
        &mut self,
        shape: &[usize],
        nonempty: bool,
        small: bool,
    ) -> Option<(Vec<usize>, Option<Vec<isize>>, bool)> {
        let len = |g: &mut Gen| {
            let hi = if small { 4 } else { 6 };
            g.t.range(if nonempty { 1 } else { 0 }, hi)
        };
        let ones: Vec<usize> = (0..shape.len()).filter(|&i| shape[i] == 1).collect();
        if !ones.is_empty() && self.t.chance(35) {
            // keepdims: reduce (a subset of) the length-1 positions
            let mut axes = vec![];
            let mut input = shape.to_vec();
            for &p in &ones {
                if self.t.chance(70) {
                    axes.push(p);
                    input[p] = len(self);
                }
            }
            let n = input.len();
            let spec = if axes.len() == n && self.t.chance(50) {
                None
            } else {
                Some(self.axis_spec(&axes, n))
            };
            return Some((input, spec, true));
        }
        let room = 3 - shape.len().min(3);
        let k = self.t.range(0, room);
        let mut input = shape.to_vec();
        let mut axes = vec![];
        for _ in 0..k {
            let p = self.t.range(0, input.len());
            input.insert(p, len(self));
            for a in axes.iter_mut() {
                if *a >= p {
                    *a += 1;
                }
            }
            axes.push(p);
        }
        let n = input.len();
        let spec = if shape.is_empty() && self.t.chance(50) {
            None
        } else {
            Some(self.axis_spec(&axes, n))
        };
        Some((input, spec, false))
    }

    /// The axes in random order, some written as negative numbers.
    fn axis_spec(&mut self, axes: &[usize], nd: usize) -> Vec<isize> {
        let mut v: Vec<isize> = axes
            .iter()
            .map(|&a| {
                if self.t.chance(30) {
                    a as isize - nd as isize
                } else {
                    a as isize
                }
            })
            .collect();
        if v.len() > 1 && self.t.chance(50) {
            v.reverse();
        }
        v
    }

    fn gen_reduce(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        let (op, ta) = match ty {
            Ty::F => {
                let op = self.t.pick(&[
                    Rop::Sum,
                    Rop::Prod,
                    Rop::Mean,
                    Rop::Var(0),
                    Rop::Var(1),
                    Rop::Std(0),
                    Rop::Std(1),
                    Rop::Min,
                    Rop::Max,
                ]);
                let ta = match op {
                    Rop::Mean | Rop::Var(_) | Rop::Std(_) => {
                        self.t.pick(&[Ty::F, Ty::F, Ty::I, Ty::B])
                    }
                    _ => Ty::F,
                };
                (op, ta)
            }
            Ty::I => {
                let op = self.t.pick(&[Rop::Sum, Rop::Prod, Rop::Min, Rop::Max]);
                let ta = if matches!(op, Rop::Sum | Rop::Prod) {
                    self.t.pick(&[Ty::I, Ty::B])
                } else {
                    Ty::I
                };
                (op, ta)
            }
            Ty::B => (
                self.t.pick(&[Rop::Any, Rop::All]),
                self.t.pick(&[Ty::F, Ty::I, Ty::B]),
            ),
        };
        let inexact = matches!(op, Rop::Mean | Rop::Var(_) | Rop::Std(_))
            || (ta == Ty::F && matches!(op, Rop::Sum | Rop::Prod));
        if exact && inexact {
            return None;
        }
        let nonempty = matches!(op, Rop::Min | Rop::Max);
        let (input, axes, keep) = self.reduce_axes(shape, nonempty, op == Rop::Prod)?;
        let ex = exact || matches!(op, Rop::Any | Rop::All);
        let child = self.sub_in(false, ta, &input, d, ex);
        // Keep float products bounded: prod of tanh(x) cannot overflow.
        let child = if op == Rop::Prod && ta == Ty::F {
            Box::new(Expr::Un(Uop::Tanh, child))
        } else {
            child
        };
        Some(Expr::Red(op, child, axes, keep))
    }

    fn gen_arg(&mut self, ty: Ty, shape: &[usize], d: u32) -> Option<Expr> {
        if ty != Ty::I {
            return None;
        }
        let max = self.t.chance(50);
        let ta = self.t.pick(&[Ty::F, Ty::I]);
        if shape.is_empty() && self.t.chance(40) {
            let nd = self.t.range(0, 3);
            let input: Vec<usize> = (0..nd).map(|_| self.t.range(1, 6)).collect();
            return Some(Expr::Arg(
                max,
                self.sub_in(false, ta, &input, d, true),
                None,
            ));
        }
        if shape.len() >= 3 {
            return None;
        }
        let p = self.t.range(0, shape.len());
        let mut input = shape.to_vec();
        input.insert(p, self.t.range(1, 7));
        let axis = if self.t.chance(30) {
            p as isize - input.len() as isize
        } else {
            p as isize
        };
        Some(Expr::Arg(
            max,
            self.sub_in(false, ta, &input, d, true),
            Some(axis),
        ))
    }

    fn gen_transpose(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        let n = shape.len();
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.t.below(i + 1);
            perm.swap(i, j);
        }
        let mut input = vec![0; n];
        for i in 0..n {
            input[perm[i]] = shape[i];
        }
        Some(Expr::Transpose(self.sub(ty, &input, d, exact), perm))
    }

    fn gen_matmul(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        if ty == Ty::F && exact {
            return None;
        }
        let (ta, tb) = match ty {
            Ty::F => self.t.pick(&[
                (Ty::F, Ty::F),
                (Ty::F, Ty::F),
                (Ty::F, Ty::I),
                (Ty::I, Ty::F),
            ]),
            _ => (Ty::I, Ty::I),
        };
        let k = self.t.range(0, 6);
        let (sa, sb) = match shape {
            [] => (vec![k], vec![k]),
            [m] => {
                if self.t.chance(50) {
                    (vec![*m, k], vec![k])
                } else {
                    (vec![k], vec![k, *m])
                }
            }
            [m, n] => (vec![*m, k], vec![k, *n]),
            [b, m, n] => (vec![*b, *m, k], vec![*b, k, *n]),
            _ => return None,
        };
        Some(Expr::MatMul(
            self.sub_in(false, ta, &sa, d, exact),
            self.sub_in(false, tb, &sb, d, exact),
        ))
    }

    /// A range item selecting exactly `l` elements of an axis of a chosen length.
    fn range_item(&mut self, l: usize) -> (SliceArg, usize, bool) {
        if l == 0 {
            let n = self.t.range(0, 4);
            let a = self.t.range(0, 2 * n + 4) as i64 - (n as i64 + 2);
            let neg = self.t.chance(50);
            let st = self.t.range(1, 3) as i64 * if neg { -1 } else { 1 };
            return (
                SliceArg::Range {
                    start: Some(a),
                    stop: Some(a),
                    step: Some(st),
                },
                n,
                false,
            );
        }
        let mut sa = if self.t.chance(40) {
            1
        } else {
            self.t.range(1, 3)
        };
        if (l - 1) * sa + 1 > 12 {
            sa = 1;
        }
        let need = (l - 1) * sa + 1;
        let n = self.t.range(need, 12.max(need).min(need + 4));
        let ni = n as i64;
        let st = sa as i64;
        if self.t.chance(65) {
            let p0 = self.t.range(0, n - need);
            let last = p0 + (l - 1) * sa;
            let start = if p0 == 0 && self.t.chance(50) {
                None
            } else if self.t.chance(50) {
                Some(p0 as i64)
            } else {
                Some(p0 as i64 - ni)
            };
            let stop_abs = self.t.range(last + 1, last + sa);
            let stop = if stop_abs >= n {
                match self.t.below(3) {
                    0 => None,
                    1 => Some(ni + self.t.range(0, 5) as i64),
                    _ => Some(stop_abs as i64),
                }
            } else if self.t.chance(50) {
                Some(stop_abs as i64)
            } else {
                Some(stop_abs as i64 - ni)
            };
            let step = if sa == 1 && self.t.chance(50) {
                None
            } else {
                Some(st)
            };
            (
                SliceArg::Range { start, stop, step },
                n,
                p0 == 0 && sa == 1 && l == n,
            )
        } else {
            let p0 = self.t.range(need - 1, n - 1);
            let last = (p0 - (l - 1) * sa) as i64;
            let start = if p0 == n - 1 && self.t.chance(50) {
                None
            } else if self.t.chance(50) {
                Some(p0 as i64)
            } else {
                Some(p0 as i64 - ni)
            };
            let stop_abs = last - self.t.range(1, sa) as i64;
            let stop = if stop_abs < 0 {
                if self.t.chance(50) {
                    None
                } else {
                    Some(-ni - 1 - self.t.range(0, 3) as i64)
                }
            } else if self.t.chance(50) {
                Some(stop_abs)
            } else {
                Some(stop_abs - ni)
            };
            (
                SliceArg::Range {
                    start,
                    stop,
                    step: Some(-st),
                },
                n,
                false,
            )
        }
    }

    fn gen_slice(&mut self, ty: Ty, shape: &[usize], d: u32, exact: bool) -> Option<Expr> {
        #[derive(Clone, Copy, PartialEq)]
        enum K {
            R(usize),
            New,
            Idx,
        }
        let mut kinds: Vec<K> = shape
            .iter()
            .map(|&l| {
                if l == 1 && self.t.chance(30) {
                    K::New
                } else {
                    K::R(l)
                }
            })
            .collect();
        let ranges = kinds.iter().filter(|k| matches!(k, K::R(_))).count();
        let nidx = self.t.range(0, (3 - ranges).min(2));
        for _ in 0..nidx {
            let p = self.t.range(0, kinds.len());
            kinds.insert(p, K::Idx);
        }
        let mut items: Vec<SliceArg> = vec![];
        let mut full: Vec<bool> = vec![];
        let mut input: Vec<usize> = vec![];
        for k in kinds {
            match k {
                K::R(l) => {
                    let (a, n, f) = self.range_item(l);
                    items.push(a);
                    full.push(f);
                    input.push(n);
                }
                K::New => {
                    items.push(SliceArg::NewAxis);
                    full.push(false);
                }
                K::Idx => {
                    let n = self.t.range(1, 5);
                    let i = self.t.below(n) as i64;
                    items.push(SliceArg::Index(if self.t.chance(50) {
                        i
                    } else {
                        i - n as i64
                    }));
                    full.push(false);
                    input.push(n);
                }
            }
        }
        if self.t.chance(30) {
            // Replace a run of full ranges (possibly empty) by an ellipsis.
            let p = self.t.range(0, items.len());
            let mut q = p;
            while q < items.len() && full[q] && self.t.chance(70) {
                q += 1;
            }
            items.splice(p..q, [SliceArg::Ellipsis]);
        } else {
            while full.last() == Some(&true) && self.t.chance(50) {
                full.pop();
                items.pop();
            }
        }
        Some(Expr::Slice(self.sub(ty, &input, d, exact), items))
    }
}

fn gen_case(tape: Vec<u32>, exact: bool) -> Case {
    let mut g = Gen::new(tape);
    let ty = g.t.pick(&[Ty::F, Ty::F, Ty::I, Ty::B]);
    let shape = g.shape(3);
    let depth = g.t.range(2, 5) as u32;
    let expr = g.gen(ty, &shape, depth, exact);
    Case {
        leaves: g.leaves,
        expr,
    }
}

// ---------------------------------------------------------------------------------------
// The eager oracle (plain ndarray code with NumPy semantics)
// ---------------------------------------------------------------------------------------

/// An eager value. Floats carry a magnitude bound per element: the rounding error of a
/// chunk-order-dependent computation is at most ~1e-12 times it.
#[derive(Clone, Debug)]
enum Val {
    F(ArrayD<f64>, ArrayD<f64>),
    I(ArrayD<i64>),
    B(ArrayD<bool>),
}

fn fin(m: f64) -> f64 {
    if m.is_finite() {
        m.abs()
    } else {
        0.0
    }
}

impl Val {
    fn f(a: ArrayD<f64>) -> Val {
        let m = a.mapv(fin);
        Val::F(a, m)
    }
    fn ty(&self) -> Ty {
        match self {
            Val::F(..) => Ty::F,
            Val::I(_) => Ty::I,
            Val::B(_) => Ty::B,
        }
    }
    fn shape(&self) -> &[usize] {
        match self {
            Val::F(a, _) => a.shape(),
            Val::I(a) => a.shape(),
            Val::B(a) => a.shape(),
        }
    }
    /// As floats (with magnitudes).
    fn fl(&self) -> (ArrayD<f64>, ArrayD<f64>) {
        match self {
            Val::F(a, m) => (a.clone(), m.clone()),
            Val::I(a) => {
                let a = a.mapv(|v| v as f64);
                let m = a.mapv(fin);
                (a, m)
            }
            Val::B(a) => {
                let a = a.mapv(|v| v as u8 as f64);
                (a.clone(), a)
            }
        }
    }
    /// As i64 (NumPy astype: floats truncate toward zero; out-of-range saturates, NaN is 0
    /// as documented by chunkwise: NumPy leaves those undefined).
    fn int(&self) -> ArrayD<i64> {
        match self {
            Val::F(a, _) => a.mapv(|v| v as i64),
            Val::I(a) => a.clone(),
            Val::B(a) => a.mapv(|v| v as i64),
        }
    }
    fn boolean(&self) -> ArrayD<bool> {
        match self {
            Val::F(a, _) => a.mapv(|v| v != 0.0),
            Val::I(a) => a.mapv(|v| v != 0),
            Val::B(a) => a.clone(),
        }
    }
    fn cast(&self, t: Ty) -> Val {
        match t {
            Ty::F => {
                let (a, m) = self.fl();
                Val::F(a, m)
            }
            Ty::I => Val::I(self.int()),
            Ty::B => Val::B(self.boolean()),
        }
    }
    fn map_struct(
        &self,
        f: impl Fn(&ArrayD<f64>) -> ArrayD<f64>,
        g: impl Fn(&ArrayD<i64>) -> ArrayD<i64>,
        h: impl Fn(&ArrayD<bool>) -> ArrayD<bool>,
    ) -> Val {
        match self {
            Val::F(a, m) => Val::F(f(a), f(m)),
            Val::I(a) => Val::I(g(a)),
            Val::B(a) => Val::B(h(a)),
        }
    }
}

fn bshape(shapes: &[&[usize]]) -> Vec<usize> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1; nd];
    for s in shapes {
        let off = nd - s.len();
        for (i, &d) in s.iter().enumerate() {
            if out[off + i] == 1 {
                out[off + i] = d;
            } else {
                assert!(
                    d == 1 || d == out[off + i],
                    "oracle: shapes do not broadcast: {shapes:?}"
                );
            }
        }
    }
    out
}

fn bc<T: Clone>(a: &ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
    a.broadcast(IxDyn(shape)).expect("broadcast").to_owned()
}

fn zip2<A: Clone, B: Clone, C>(a: &ArrayD<A>, b: &ArrayD<B>, f: impl Fn(A, B) -> C) -> ArrayD<C> {
    let shape = bshape(&[a.shape(), b.shape()]);
    let (a, b) = (bc(a, &shape), bc(b, &shape));
    let v: Vec<C> = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| f(x.clone(), y.clone()))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), v).unwrap()
}

/// NumPy's `npy_divmod` for floats: (floor quotient, remainder with the divisor's sign).
fn np_divmod(a: f64, b: f64) -> (f64, f64) {
    let mut m = a % b;
    if b == 0.0 {
        return (a / b, m);
    }
    let mut div = (a - m) / b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    let fd = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    (fd, m)
}

fn ifloordiv(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0; // NumPy: 0 with a warning
    }
    let q = a.wrapping_div(b);
    if q.wrapping_mul(b) != a && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn irem(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    a.wrapping_sub(ifloordiv(a, b).wrapping_mul(b))
}

fn ipow(a: i64, b: i64) -> i64 {
    assert!(b >= 0);
    let mut acc: i64 = 1;
    for _ in 0..b {
        acc = acc.wrapping_mul(a);
    }
    acc
}

fn fmin(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b < a {
        b
    } else {
        a
    }
}
fn fmax(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b > a {
        b
    } else {
        a
    }
}

fn eval_bin(op: Bop, a: &Val, b: &Val) -> Val {
    let common = a.ty().max(b.ty());
    if op == Bop::Div || common == Ty::F {
        let ((x, mx), (y, my)) = (a.fl(), b.fl());
        let r = zip2(&x, &y, |p, q| match op {
            Bop::Add => p + q,
            Bop::Sub => p - q,
            Bop::Mul => p * q,
            Bop::Div => p / q,
            Bop::FloorDiv => np_divmod(p, q).0,
            Bop::Rem => np_divmod(p, q).1,
            Bop::Min => fmin(p, q),
            Bop::Max => fmax(p, q),
            Bop::Pow => p.powf(q),
            Bop::Copysign => p.copysign(q),
            Bop::Hypot => (p * p + q * q).sqrt(),
            Bop::Logaddexp => np_logaddexp(p, q),
            Bop::Nextafter => next_toward(p, q),
            _ => panic!("oracle: {op:?} on floats"),
        });
        let m = match op {
            Bop::Add | Bop::Sub | Bop::Min | Bop::Max | Bop::Hypot | Bop::Logaddexp => {
                zip2(&mx, &my, f64::max)
            }
            Bop::Mul => zip2(&mx, &my, |p, q| p * q),
            Bop::Div => zip2(&mx, &y, |p, q| p / q.abs()),
            _ => r.mapv(fin),
        };
        let m = zip2(&m, &r, |m, r| fin(m).max(fin(r)));
        return Val::F(r, m);
    }
    if common == Ty::I {
        let (x, y) = (a.int(), b.int());
        return Val::I(zip2(&x, &y, |p, q| match op {
            Bop::Add => p.wrapping_add(q),
            Bop::Sub => p.wrapping_sub(q),
            Bop::Mul => p.wrapping_mul(q),
            Bop::FloorDiv => ifloordiv(p, q),
            Bop::Rem => irem(p, q),
            Bop::Min => p.min(q),
            Bop::Max => p.max(q),
            Bop::Pow => ipow(p, q),
            Bop::And => p & q,
            Bop::Or => p | q,
            Bop::Xor => p ^ q,
            // NumPy: counts outside 0..64 (negative ones too) shift everything out.
            Bop::Shl => {
                if (0..64).contains(&q) {
                    p << q
                } else {
                    0
                }
            }
            Bop::Shr => {
                if (0..64).contains(&q) {
                    p >> q
                } else if p < 0 {
                    -1
                } else {
                    0
                }
            }
            _ => panic!("oracle: {op:?} on integers"),
        }));
    }
    let (x, y) = (a.boolean(), b.boolean());
    Val::B(zip2(&x, &y, |p, q| match op {
        Bop::And | Bop::Mul | Bop::Min => p & q,
        Bop::Or | Bop::Add | Bop::Max => p | q,
        Bop::Xor => p ^ q,
        _ => panic!("oracle: {op:?} on bools"),
    }))
}

/// NumPy's `logaddexp` (its formula; NaN propagates).
fn np_logaddexp(p: f64, q: f64) -> f64 {
    if p == q {
        p + std::f64::consts::LN_2
    } else if p.is_nan() || q.is_nan() {
        f64::NAN
    } else {
        p.max(q) + (-(p - q).abs()).exp().ln_1p()
    }
}

/// C's `nextafter` for f64, by stepping the ordered integer image of the value.
fn next_toward(p: f64, q: f64) -> f64 {
    if p.is_nan() || q.is_nan() {
        return f64::NAN;
    }
    if p == q {
        return q;
    }
    // Map floats to integers in the same order (negatives reversed), step, map back.
    let ord = |v: f64| {
        let b = v.to_bits() as i64;
        if b < 0 {
            i64::MIN - b
        } else {
            b
        }
    };
    let k = ord(p) + if q > p { 1 } else { -1 };
    let bits = if k < 0 { i64::MIN - k } else { k };
    let r = f64::from_bits(bits as u64);
    if r == 0.0 {
        // Stepping onto zero keeps the sign of the start.
        0.0f64.copysign(p)
    } else {
        r
    }
}

fn eval_un(op: Uop, a: &Val) -> Val {
    match (op, a) {
        (Uop::Not, Val::I(x)) => Val::I(x.mapv(|v| !v)),
        (Uop::Not, Val::B(x)) => Val::B(x.mapv(|v| !v)),
        (Uop::IsNan, _) => {
            let (x, _) = a.fl();
            Val::B(x.mapv(f64::is_nan))
        }
        (Uop::IsFinite, _) => {
            let (x, _) = a.fl();
            Val::B(x.mapv(f64::is_finite))
        }
        (Uop::Signbit, _) => {
            let (x, _) = a.fl();
            Val::B(x.mapv(f64::is_sign_negative))
        }
        (_, Val::I(x))
            if matches!(
                op,
                Uop::Neg | Uop::Abs | Uop::Square | Uop::Sign | Uop::Round | Uop::Trunc
            ) =>
        {
            Val::I(x.mapv(|v| match op {
                Uop::Neg => v.wrapping_neg(),
                Uop::Abs => v.wrapping_abs(),
                Uop::Square => v.wrapping_mul(v),
                Uop::Sign => v.signum(),
                _ => v,
            }))
        }
        _ => {
            let (x, m) = a.fl();
            let r = x.mapv(|v| match op {
                Uop::Neg => -v,
                Uop::Abs => v.abs(),
                Uop::Square => v * v,
                Uop::Sign => {
                    if v > 0.0 {
                        1.0
                    } else if v < 0.0 {
                        -1.0
                    } else {
                        v
                    }
                }
                Uop::ExpS => (v.tanh() * 2.0).exp(),
                Uop::LogA => (v.abs() + 1.0).ln(),
                Uop::SqrtA => v.abs().sqrt(),
                Uop::Sin => v.sin(),
                Uop::Cos => v.cos(),
                Uop::Tanh => v.tanh(),
                Uop::Arcsinh => (v.abs() + (v * v + 1.0).sqrt()).ln().copysign(v),
                Uop::Floor => v.floor(),
                Uop::Ceil => v.ceil(),
                Uop::Round => v.round_ties_even(),
                Uop::Trunc => v.trunc(),
                _ => panic!("oracle: {op:?}"),
            });
            let m = match op {
                Uop::Square => m.mapv(|v| v * v),
                Uop::ExpS => m.mapv(|v| 15.0 * v),
                Uop::Neg
                | Uop::Abs
                | Uop::Sin
                | Uop::Cos
                | Uop::Tanh
                | Uop::LogA
                | Uop::Arcsinh => m,
                _ => r.mapv(fin),
            };
            let m = zip2(&m, &r, |m, r| fin(m).max(fin(r)));
            Val::F(r, m)
        }
    }
}

fn eval_cmp(op: Cop, a: &Val, b: &Val) -> Val {
    fn c<T: PartialOrd>(op: Cop, p: T, q: T) -> bool {
        match op {
            Cop::Eq => p == q,
            Cop::Ne => p != q,
            Cop::Lt => p < q,
            Cop::Le => p <= q,
            Cop::Gt => p > q,
            Cop::Ge => p >= q,
        }
    }
    Val::B(match a.ty().max(b.ty()) {
        Ty::F => zip2(&a.fl().0, &b.fl().0, |p, q| c(op, p, q)),
        Ty::I => zip2(&a.int(), &b.int(), |p, q| c(op, p, q)),
        Ty::B => zip2(&a.boolean(), &b.boolean(), |p, q| c(op, p, q)),
    })
}

fn eval_where(c: &Val, a: &Val, b: &Val) -> Val {
    let c = c.boolean();
    let shape = bshape(&[c.shape(), a.shape(), b.shape()]);
    let c = bc(&c, &shape);
    fn sel<T: Clone>(c: &ArrayD<bool>, x: &ArrayD<T>, y: &ArrayD<T>, shape: &[usize]) -> ArrayD<T> {
        let (x, y) = (bc(x, shape), bc(y, shape));
        let v: Vec<T> = c
            .iter()
            .zip(x.iter().zip(y.iter()))
            .map(|(&c, (p, q))| if c { p.clone() } else { q.clone() })
            .collect();
        ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
    }
    match a.ty().max(b.ty()) {
        Ty::F => {
            let ((x, mx), (y, my)) = (a.fl(), b.fl());
            Val::F(sel(&c, &x, &y, &shape), sel(&c, &mx, &my, &shape))
        }
        Ty::I => Val::I(sel(&c, &a.int(), &b.int(), &shape)),
        Ty::B => Val::B(sel(&c, &a.boolean(), &b.boolean(), &shape)),
    }
}

fn norm_axes(axes: &Option<Vec<isize>>, nd: usize) -> Vec<usize> {
    match axes {
        None => (0..nd).collect(),
        Some(a) => {
            let mut v: Vec<usize> = a
                .iter()
                .map(|&x| {
                    if x < 0 {
                        (x + nd as isize) as usize
                    } else {
                        x as usize
                    }
                })
                .collect();
            v.sort();
            v
        }
    }
}

/// Applies `f` to every lane of the reduced axes (elements in C order over those axes).
fn lanes<T: Clone, U>(
    a: &ArrayD<T>,
    axes: &[usize],
    keepdims: bool,
    f: impl Fn(&[T]) -> U,
) -> ArrayD<U> {
    let nd = a.ndim();
    let keep: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
    let perm: Vec<usize> = keep.iter().chain(axes.iter()).copied().collect();
    let p = a.view().permuted_axes(IxDyn(&perm));
    let flat: Vec<T> = p.iter().cloned().collect();
    let outer: usize = keep.iter().map(|&i| a.shape()[i]).product();
    let inner: usize = axes.iter().map(|&i| a.shape()[i]).product();
    let v: Vec<U> = (0..outer)
        .map(|o| f(&flat[o * inner..(o + 1) * inner]))
        .collect();
    let shape: Vec<usize> = if keepdims {
        (0..nd)
            .map(|i| if axes.contains(&i) { 1 } else { a.shape()[i] })
            .collect()
    } else {
        keep.iter().map(|&i| a.shape()[i]).collect()
    };
    ArrayD::from_shape_vec(IxDyn(&shape), v).unwrap()
}

fn eval_red(op: Rop, a: &Val, axes: &Option<Vec<isize>>, keep: bool) -> Val {
    let ax = norm_axes(axes, a.shape().len());
    match op {
        Rop::Any => Val::B(lanes(&a.boolean(), &ax, keep, |l| l.iter().any(|&v| v))),
        Rop::All => Val::B(lanes(&a.boolean(), &ax, keep, |l| l.iter().all(|&v| v))),
        Rop::Sum | Rop::Prod if a.ty() != Ty::F => {
            let x = a.int();
            Val::I(lanes(&x, &ax, keep, |l| {
                if op == Rop::Sum {
                    l.iter().fold(0i64, |s, &v| s.wrapping_add(v))
                } else {
                    l.iter().fold(1i64, |s, &v| s.wrapping_mul(v))
                }
            }))
        }
        Rop::Min | Rop::Max if a.ty() == Ty::I => Val::I(lanes(&a.int(), &ax, keep, |l| {
            if op == Rop::Min {
                *l.iter().min().unwrap()
            } else {
                *l.iter().max().unwrap()
            }
        })),
        _ => {
            let (x, m) = a.fl();
            let r = lanes(&x, &ax, keep, |l| {
                let n = l.len() as f64;
                match op {
                    Rop::Sum => l.iter().sum::<f64>(),
                    Rop::Prod => l.iter().product::<f64>(),
                    Rop::Mean => l.iter().sum::<f64>() / n,
                    Rop::Var(dd) | Rop::Std(dd) => {
                        let mean = l.iter().sum::<f64>() / n;
                        let q: f64 = l.iter().map(|v| (v - mean) * (v - mean)).sum();
                        let var = q / (n - dd as f64).max(0.0);
                        if matches!(op, Rop::Std(_)) {
                            var.sqrt()
                        } else {
                            var
                        }
                    }
                    Rop::Min => l.iter().copied().fold(f64::INFINITY, fmin),
                    Rop::Max => l.iter().copied().fold(f64::NEG_INFINITY, fmax),
                    _ => unreachable!(),
                }
            });
            let mm = lanes(&m, &ax, keep, |l| {
                let n = l.len() as f64;
                let mx = l.iter().copied().fold(0.0, f64::max);
                match op {
                    Rop::Sum => l.iter().sum::<f64>(),
                    Rop::Prod => l.iter().map(|v| v.max(1.0)).product::<f64>() * n,
                    Rop::Mean => l.iter().sum::<f64>() / n.max(1.0),
                    Rop::Var(_) => mx * mx * n,
                    Rop::Std(_) => mx * 100.0,
                    _ => mx,
                }
            });
            let mm = zip2(&mm, &r, |m, r| fin(m).max(fin(r)));
            Val::F(r, mm)
        }
    }
}

fn eval_arg(max: bool, a: &Val, axis: Option<isize>) -> Val {
    let nd = a.shape().len();
    let ax = norm_axes(&axis.map(|a| vec![a]), nd);
    let (x, _) = a.fl(); // ints are small: exact as floats
    Val::I(lanes(&x, &ax, false, |l| {
        assert!(!l.is_empty());
        let mut best = 0;
        for (i, &v) in l.iter().enumerate() {
            if v.is_nan() {
                return i as i64;
            }
            if (max && v > l[best]) || (!max && v < l[best]) {
                best = i;
            }
        }
        best as i64
    }))
}

#[derive(Debug, Clone, Copy)]
enum Item {
    R { start: i64, step: i64, count: usize },
    I(usize),
    New,
}

/// NumPy basic indexing, written from Python's `slice.indices` rules.
fn norm_slice(shape: &[usize], args: &[SliceArg]) -> Result<Vec<Item>, String> {
    if args
        .iter()
        .filter(|a| matches!(a, SliceArg::Ellipsis))
        .count()
        > 1
    {
        return Err("two ellipses".into());
    }
    let named = args
        .iter()
        .filter(|a| matches!(a, SliceArg::Range { .. } | SliceArg::Index(_)))
        .count();
    if named > shape.len() {
        return Err("too many indices".into());
    }
    let mut expanded: Vec<SliceArg> = vec![];
    for a in args {
        if let SliceArg::Ellipsis = a {
            expanded.extend(std::iter::repeat_n(SliceArg::ALL, shape.len() - named));
        } else {
            expanded.push(*a);
        }
    }
    let named_after = expanded
        .iter()
        .filter(|a| !matches!(a, SliceArg::NewAxis))
        .count();
    expanded.extend(std::iter::repeat_n(
        SliceArg::ALL,
        shape.len() - named_after,
    ));
    let mut out = vec![];
    let mut axis = 0;
    for a in expanded {
        match a {
            SliceArg::NewAxis => out.push(Item::New),
            SliceArg::Index(i) => {
                let n = shape[axis] as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return Err("index out of bounds".into());
                }
                out.push(Item::I(j as usize));
                axis += 1;
            }
            SliceArg::Range { start, stop, step } => {
                let n = shape[axis] as i64;
                let step = step.unwrap_or(1);
                if step == 0 {
                    return Err("zero step".into());
                }
                let (lower, upper) = if step < 0 { (-1, n - 1) } else { (0, n) };
                let fix = |v: i64| {
                    if v < 0 {
                        (v + n).max(lower)
                    } else {
                        v.min(upper)
                    }
                };
                let s = start
                    .map(fix)
                    .unwrap_or(if step < 0 { upper } else { lower });
                let e = stop
                    .map(fix)
                    .unwrap_or(if step < 0 { lower } else { upper });
                // len(range(s, e, step))
                let count = if step > 0 {
                    if e > s {
                        (e - s + step - 1) / step
                    } else {
                        0
                    }
                } else if s > e {
                    (s - e - step - 1) / (-step)
                } else {
                    0
                };
                out.push(Item::R {
                    start: s,
                    step,
                    count: count as usize,
                });
                axis += 1;
            }
            SliceArg::Ellipsis => unreachable!(),
        }
    }
    Ok(out)
}

fn apply_slice<T: Clone>(a: &ArrayD<T>, items: &[Item]) -> ArrayD<T> {
    let shape: Vec<usize> = items
        .iter()
        .filter_map(|it| match it {
            Item::R { count, .. } => Some(*count),
            Item::New => Some(1),
            Item::I(_) => None,
        })
        .collect();
    ArrayD::from_shape_fn(IxDyn(&shape), |idx| {
        let mut o = 0;
        let mut src = vec![];
        for it in items {
            match *it {
                Item::R { start, step, .. } => {
                    src.push((start + step * idx[o] as i64) as usize);
                    o += 1;
                }
                Item::New => o += 1,
                Item::I(i) => src.push(i),
            }
        }
        a[IxDyn(&src)].clone()
    })
}

fn transpose<T: Clone>(a: &ArrayD<T>, perm: &[usize]) -> ArrayD<T> {
    a.view()
        .permuted_axes(IxDyn(perm))
        .as_standard_layout()
        .into_owned()
}

fn eval_matmul(a: &Val, b: &Val) -> Val {
    // Batched (b, m, k) @ (b, k, n) view of every supported case.
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let (bt, m, k, n, out): (usize, usize, usize, usize, Vec<usize>) = match (sa.len(), sb.len()) {
        (1, 1) => (1, 1, sa[0], 1, vec![]),
        (2, 1) => (1, sa[0], sa[1], 1, vec![sa[0]]),
        (1, 2) => (1, 1, sa[0], sb[1], vec![sb[1]]),
        (2, 2) => (1, sa[0], sa[1], sb[1], vec![sa[0], sb[1]]),
        (3, 3) => (sa[0], sa[1], sa[2], sb[2], vec![sa[0], sa[1], sb[2]]),
        _ => panic!("oracle: matmul {sa:?} {sb:?}"),
    };
    if a.ty() == Ty::F || b.ty() == Ty::F {
        let ((x, mx), (y, my)) = (a.fl(), b.fl());
        let (x, mx, y, my) = (
            x.iter().copied().collect::<Vec<_>>(),
            mx.iter().copied().collect::<Vec<_>>(),
            y.iter().copied().collect::<Vec<_>>(),
            my.iter().copied().collect::<Vec<_>>(),
        );
        let mut r = vec![0.0; bt * m * n];
        let mut mm = vec![0.0; bt * m * n];
        for t in 0..bt {
            for i in 0..m {
                for j in 0..n {
                    let (mut s, mut sm) = (0.0, 0.0);
                    for p in 0..k {
                        s += x[(t * m + i) * k + p] * y[(t * k + p) * n + j];
                        sm += mx[(t * m + i) * k + p] * my[(t * k + p) * n + j];
                    }
                    r[(t * m + i) * n + j] = s;
                    mm[(t * m + i) * n + j] = fin(sm).max(fin(s));
                }
            }
        }
        Val::F(
            ArrayD::from_shape_vec(IxDyn(&out), r).unwrap(),
            ArrayD::from_shape_vec(IxDyn(&out), mm).unwrap(),
        )
    } else {
        let (x, y) = (
            a.int().iter().copied().collect::<Vec<_>>(),
            b.int().iter().copied().collect::<Vec<_>>(),
        );
        let mut r = vec![0i64; bt * m * n];
        for t in 0..bt {
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0i64;
                    for p in 0..k {
                        s = s.wrapping_add(
                            x[(t * m + i) * k + p].wrapping_mul(y[(t * k + p) * n + j]),
                        );
                    }
                    r[(t * m + i) * n + j] = s;
                }
            }
        }
        Val::I(ArrayD::from_shape_vec(IxDyn(&out), r).unwrap())
    }
}

fn eval(e: &Expr, leaves: &[Leaf]) -> Val {
    match e {
        Expr::Leaf(i) => leaves[*i].val.clone(),
        Expr::Bin(op, a, b) => eval_bin(*op, &eval(a, leaves), &eval(b, leaves)),
        Expr::BinS(op, a, s, left) => {
            let (a, s) = (eval(a, leaves), s.val());
            // Weak scalars: within {bool, i64, f64} the result type is the larger kind,
            // exactly as for two arrays.
            if *left {
                eval_bin(*op, &s, &a)
            } else {
                eval_bin(*op, &a, &s)
            }
        }
        Expr::Un(op, a) => eval_un(*op, &eval(a, leaves)),
        Expr::Cmp(op, a, b) => eval_cmp(*op, &eval(a, leaves), &eval(b, leaves)),
        Expr::CmpS(op, a, s) => eval_cmp(*op, &eval(a, leaves), &s.val()),
        Expr::Where(c, a, b) => eval_where(&eval(c, leaves), &eval(a, leaves), &eval(b, leaves)),
        Expr::Cast(a, t) => eval(a, leaves).cast(*t),
        Expr::Red(op, a, axes, keep) => eval_red(*op, &eval(a, leaves), axes, *keep),
        Expr::Arg(max, a, axis) => eval_arg(*max, &eval(a, leaves), *axis),
        Expr::Slice(a, args) => {
            let v = eval(a, leaves);
            let items = norm_slice(v.shape(), args).expect("generated slices are valid");
            v.map_struct(
                |x| apply_slice(x, &items),
                |x| apply_slice(x, &items),
                |x| apply_slice(x, &items),
            )
        }
        Expr::Rechunk(a, _) => eval(a, leaves),
        Expr::Transpose(a, p) => eval(a, leaves).map_struct(
            |x| transpose(x, p),
            |x| transpose(x, p),
            |x| transpose(x, p),
        ),
        Expr::MatMul(a, b) => eval_matmul(&eval(a, leaves), &eval(b, leaves)),
    }
}

// ---------------------------------------------------------------------------------------
// Building the chunkwise graph
// ---------------------------------------------------------------------------------------

type R<T> = Result<T, chunkwise::Error>;

fn make_leaf(v: &Val, ch: &Chunking) -> R<Array> {
    let d = match v {
        Val::F(a, _) => DynArray::new(a.clone()),
        Val::I(a) => DynArray::new(a.clone()),
        Val::B(a) => DynArray::new(a.clone()),
    };
    match ch {
        Chunking::Regular(c) => Array::from_dyn(d, c),
        Chunking::Explicit(l) => {
            let shape: Vec<u64> = v.shape().iter().map(|&s| s as u64).collect();
            Ok(Array::from_node(Node::from_array(
                d,
                ChunkGrid::explicit(&shape, l)?,
            )?))
        }
    }
}

fn dtype(t: Ty) -> DType {
    match t {
        Ty::F => DType::F64,
        Ty::I => DType::I64,
        Ty::B => DType::Bool,
    }
}

fn bop(op: Bop) -> BinaryOp {
    match op {
        Bop::Add => BinaryOp::Add,
        Bop::Sub => BinaryOp::Sub,
        Bop::Mul => BinaryOp::Mul,
        Bop::Div => BinaryOp::Div,
        Bop::FloorDiv => BinaryOp::FloorDiv,
        Bop::Rem => BinaryOp::Rem,
        Bop::Min => BinaryOp::Minimum,
        Bop::Max => BinaryOp::Maximum,
        Bop::Pow => BinaryOp::Pow,
        Bop::And => BinaryOp::And,
        Bop::Or => BinaryOp::Or,
        Bop::Xor => BinaryOp::Xor,
        Bop::Copysign => BinaryOp::Copysign,
        Bop::Hypot => BinaryOp::Hypot,
        Bop::Logaddexp => BinaryOp::Logaddexp,
        Bop::Nextafter => BinaryOp::Nextafter,
        Bop::Shl => BinaryOp::Shl,
        Bop::Shr => BinaryOp::Shr,
    }
}

fn array_bin(op: Bop, a: &Array, b: impl Into<Operand>) -> R<Array> {
    // Operators for the four arithmetic operations (they carry errors in the array),
    // named methods for the rest.
    let r = match op {
        Bop::Add => a + b,
        Bop::Sub => a - b,
        Bop::Mul => a * b,
        Bop::Div => a / b,
        Bop::Rem => a % b,
        Bop::FloorDiv => a.floor_div(b)?,
        Bop::Min => a.minimum(b)?,
        Bop::Max => a.maximum(b)?,
        Bop::Pow => a.pow(b)?,
        Bop::And => a.and(b)?,
        Bop::Or => a.or(b)?,
        Bop::Xor => a.xor(b)?,
        Bop::Copysign => a.copysign(b)?,
        Bop::Hypot => a.hypot(b)?,
        Bop::Logaddexp => a.logaddexp(b)?,
        Bop::Nextafter => a.nextafter(b)?,
        Bop::Shl => a.shl(b)?,
        Bop::Shr => a.shr(b)?,
    };
    r.node()?;
    Ok(r)
}

fn build(e: &Expr, leaves: &[Array], variant: usize) -> R<Array> {
    let b = |x: &Expr| build(x, leaves, variant);
    Ok(match e {
        Expr::Leaf(i) => leaves[*i].clone(),
        Expr::Bin(op, x, y) => array_bin(*op, &b(x)?, &b(y)?)?,
        Expr::BinS(op, x, s, left) => {
            let x = b(x)?;
            if *left {
                match (op, s) {
                    (Bop::Sub, Sc::F(v)) => *v - &x,
                    (Bop::Div, Sc::I(v)) => *v / &x,
                    _ => Array::elementwise(&[s.operand(), (&x).into()], |bl, i| {
                        bl.binary(bop(*op), i[0], i[1])
                    })?,
                }
            } else {
                match s {
                    Sc::F(v) => array_bin(*op, &x, *v)?,
                    Sc::I(v) => array_bin(*op, &x, *v)?,
                    Sc::B(v) => array_bin(*op, &x, *v)?,
                }
            }
        }
        Expr::Un(op, x) => {
            let x = b(x)?;
            match op {
                Uop::Neg => -&x,
                Uop::Abs => x.abs(),
                Uop::Square => x.square(),
                Uop::Sign => x.sign(),
                Uop::ExpS => (x.tanh() * 2.0).exp(),
                Uop::LogA => (x.abs() + 1.0).log(),
                Uop::SqrtA => x.abs().sqrt(),
                Uop::Sin => x.sin(),
                Uop::Cos => x.cos(),
                Uop::Tanh => x.tanh(),
                Uop::Arcsinh => x.arcsinh(),
                Uop::Floor => x.floor(),
                Uop::Ceil => x.ceil(),
                Uop::Round => x.round(),
                Uop::Trunc => x.trunc(),
                Uop::Not => x.not(),
                Uop::IsNan => x.isnan(),
                Uop::IsFinite => x.isfinite(),
                Uop::Signbit => x.signbit(),
            }
        }
        Expr::Cmp(op, x, y) => {
            let (x, y) = (b(x)?, b(y)?);
            cmp(*op, &x, &y)?
        }
        Expr::CmpS(op, x, s) => {
            let x = b(x)?;
            cmp(*op, &x, s.operand())?
        }
        Expr::Where(c, x, y) => Array::where_(&b(c)?, &b(x)?, &b(y)?)?,
        Expr::Cast(x, t) => b(x)?.astype(dtype(*t))?,
        Expr::Red(op, x, axes, keep) => {
            let x = b(x)?;
            let ax = axes.as_deref();
            match op {
                Rop::Sum => x.sum(ax, *keep)?,
                Rop::Prod => x.prod(ax, *keep)?,
                Rop::Mean => x.mean(ax, *keep)?,
                Rop::Var(d) => x.var(ax, *keep, *d)?,
                Rop::Std(d) => x.std(ax, *keep, *d)?,
                Rop::Min => x.min(ax, *keep)?,
                Rop::Max => x.max(ax, *keep)?,
                Rop::Any => x.any(ax, *keep)?,
                Rop::All => x.all(ax, *keep)?,
            }
        }
        Expr::Arg(max, x, axis) => {
            let x = b(x)?;
            if *max {
                x.argmax(*axis)?
            } else {
                x.argmin(*axis)?
            }
        }
        Expr::Slice(x, args) => b(x)?.slice(args)?,
        Expr::Rechunk(x, ch) => {
            let x = b(x)?;
            match &ch[variant] {
                Chunking::Regular(c) => x.rechunk(c)?,
                Chunking::Explicit(l) => x.rechunk_explicit(l)?,
            }
        }
        Expr::Transpose(x, p) => b(x)?.transpose(p)?,
        Expr::MatMul(x, y) => b(x)?.matmul(&b(y)?)?,
    })
}

fn cmp(op: Cop, x: &Array, y: impl Into<Operand>) -> R<Array> {
    match op {
        Cop::Eq => x.eq(y),
        Cop::Ne => x.ne(y),
        Cop::Lt => x.lt(y),
        Cop::Le => x.le(y),
        Cop::Gt => x.gt(y),
        Cop::Ge => x.ge(y),
    }
}

/// Builds the case's graph with chunking `variant` and computes it.
fn run(case: &Case, variant: usize, want: &Val) -> Result<DynArray, TestCaseError> {
    run_with(case, variant, want, None)
}

fn run_with(
    case: &Case,
    variant: usize,
    want: &Val,
    passes: Option<&PassManager>,
) -> Result<DynArray, TestCaseError> {
    let fail = |what: &str, e: chunkwise::Error| {
        TestCaseError::fail(format!("chunkwise error ({what}, chunking {variant}): {e}"))
    };
    let leaves = case
        .leaves
        .iter()
        .map(|l| make_leaf(&l.val, &l.chunks[variant]))
        .collect::<R<Vec<_>>>()
        .map_err(|e| fail("leaves", e))?;
    let a = build(&case.expr, &leaves, variant).map_err(|e| fail("build", e))?;
    let want_shape: Vec<u64> = want.shape().iter().map(|&s| s as u64).collect();
    if a.shape() != want_shape {
        return Err(TestCaseError::fail(format!(
            "lazy shape {:?}, expected {want_shape:?}",
            a.shape()
        )));
    }
    a.compute_dyn_with(&ComputeOptions {
        passes,
        ..ComputeOptions::default()
    })
    .map_err(|e| fail("compute", e))
}

/// No passes, each pass alone, and the standard pipeline.
fn pass_configs() -> Vec<(String, PassManager)> {
    let mut v = vec![("none".to_string(), PassManager::none())];
    for name in PassManager::standard().pass_names() {
        v.push((name.to_string(), PassManager::standard().only(&[name])));
    }
    v.push(("standard".to_string(), PassManager::standard()));
    // The pipeline run again on its own output (graphs with inlined layers in them).
    let twice = PassManager::standard().phase(
        "again",
        false,
        vec![
            Box::new(chunkwise_passes::slice_pushdown::SlicePushdown),
            Box::new(chunkwise_passes::blockwise_fusion::BlockwiseFusion::default()),
            Box::new(chunkwise_passes::root_fusion::RootFusion),
            Box::new(chunkwise_passes::reduction_fusion::ReductionFusion),
            Box::new(chunkwise_passes::cse::Cse),
        ],
    );
    v.push(("standard+again".to_string(), twice));
    v
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

const RTOL: f64 = 1e-9;

fn compare(got: &DynArray, want: &Val) -> Result<(), String> {
    if got.shape() != want.shape() {
        return Err(format!(
            "shape {:?}, expected {:?}",
            got.shape(),
            want.shape()
        ));
    }
    match want {
        Val::F(w, m) => {
            let g = got
                .as_typed::<f64>()
                .ok_or_else(|| format!("dtype {}, expected f64", got.dtype()))?;
            for ((idx, &wv), (&gv, &mv)) in w.indexed_iter().zip(g.iter().zip(m.iter())) {
                let ok = if wv.is_nan() || gv.is_nan() || wv.is_infinite() || gv.is_infinite() {
                    (wv.is_nan() && gv.is_nan()) || wv == gv
                } else {
                    (gv - wv).abs() <= RTOL * (wv.abs().max(gv.abs()) + mv) + 1e-300
                };
                if !ok {
                    return Err(format!(
                        "at {:?}: got {gv:e}, expected {wv:e} (magnitude bound {mv:e})",
                        idx.slice()
                    ));
                }
            }
        }
        Val::I(w) => {
            let g = got
                .as_typed::<i64>()
                .ok_or_else(|| format!("dtype {}, expected i64", got.dtype()))?;
            if g.iter().ne(w.iter()) {
                return Err(format!("got {g:?}, expected {w:?}"));
            }
        }
        Val::B(w) => {
            let g = got
                .as_typed::<bool>()
                .ok_or_else(|| format!("dtype {}, expected bool", got.dtype()))?;
            if g.iter().ne(w.iter()) {
                return Err(format!("got {g:?}, expected {w:?}"));
            }
        }
    }
    Ok(())
}

/// Bit-for-bit equality (NaNs equal each other).
fn identical(a: &DynArray, b: &DynArray) -> Result<(), String> {
    if a.shape() != b.shape() || a.dtype() != b.dtype() {
        return Err(format!(
            "{}{:?} vs {}{:?}",
            a.dtype(),
            a.shape(),
            b.dtype(),
            b.shape()
        ));
    }
    let same = match (a.as_typed::<f64>(), b.as_typed::<f64>()) {
        (Some(x), Some(y)) => x
            .iter()
            .zip(y.iter())
            .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())),
        _ => match (a.as_typed::<i64>(), b.as_typed::<i64>()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_typed::<bool>() == b.as_typed::<bool>(),
        },
    };
    if same {
        Ok(())
    } else {
        Err(format!("{a:?}\nvs\n{b:?}"))
    }
}

// Cases per property. CI runs every property once per `cargo test`, and must check at least
// 10,000 random expression graphs per run (hardening issue 15): the four graph properties
// below generate 10,500, the two slice properties 1,800 more.
const CASES_EAGER: u32 = 4000;
const CASES_CHUNKING: u32 = 2000;
const CASES_OTHER_CHUNKING: u32 = 2000;
const CASES_PASSES: u32 = 2500;
const CASES_SLICE_PUSHDOWN: u32 = 600;
const CASES_SLICES: u32 = 1200;
const _: () = assert!(CASES_EAGER + CASES_CHUNKING + CASES_OTHER_CHUNKING + CASES_PASSES >= 10_000);

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

fn tape() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 0..400)
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(CASES_EAGER, 0x5eed_0001))]
/// Random expression graphs agree with the eager NumPy-semantics oracle.
    #[test]
    fn random_graphs_match_eager(case in tape().prop_map(|t| gen_case(t, false))) {
        let want = eval(&case.expr, &case.leaves);
        let got = run(&case, 0, &want)?;
        compare(&got, &want).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config(CASES_CHUNKING, 0x5eed_0002))]
/// Exact expressions give bit-identical results under two unrelated chunkings of all
    /// inputs and intermediate rechunks; inexact ones agree with the oracle under both.
    #[test]
    fn chunking_does_not_change_results(case in tape().prop_map(|t| gen_case(t, true))) {
        prop_assert!(case.expr.is_exact(&case.leaves));
        let want = eval(&case.expr, &case.leaves);
        let a = run(&case, 0, &want)?;
        let b = run(&case, 1, &want)?;
        identical(&a, &b).map_err(|e| TestCaseError::fail(format!("chunkings disagree: {e}")))?;
        compare(&a, &want).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config(CASES_OTHER_CHUNKING, 0x5eed_0003))]
/// Inexact expressions (float reductions, matmul) under the second chunking too.
    #[test]
    fn random_graphs_match_eager_other_chunking(case in tape().prop_map(|t| gen_case(t, false))) {
        let want = eval(&case.expr, &case.leaves);
        let got = run(&case, 1, &want)?;
        compare(&got, &want).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config(CASES_PASSES, 0x5eed_0005))]
    /// Every optimization pass alone, no pass, and the whole pipeline give results that agree
    /// with the oracle (optimized == unoptimized == eager).
    #[test]
    fn every_pass_preserves_results(case in tape().prop_map(|t| gen_case(t, false))) {
        let want = eval(&case.expr, &case.leaves);
        for (name, pm) in pass_configs() {
            let got = run_with(&case, 0, &want, Some(&pm))?;
            compare(&got, &want).map_err(|e| TestCaseError::fail(format!("passes {name}: {e}")))?;
        }
    }
}

proptest! {
    #![proptest_config(config(CASES_SLICE_PUSHDOWN, 0x5eed_0006))]
    /// Slices pushed into random sources (windows) and through elementwise work give the
    /// same bits as the unoptimized graph.
    #[test]
    fn slice_pushdown_into_random_is_exact(case in tape().prop_map(gen_slice_case)) {
        let shape: Vec<u64> = case.leaf.val.shape().iter().map(|&s| s as u64).collect();
        let chunks: Vec<u64> = shape.iter().map(|&s| (s / 2).max(1)).collect();
        let mut x = (Array::random_uniform(&shape, &chunks, 11).unwrap() * 3.0).exp();
        for args in &case.chain {
            match x.slice(args) {
                Ok(y) => x = y + 1.0,
                Err(_) => break,
            }
        }
        let plain = x.compute_dyn_with(&ComputeOptions { passes: Some(&PassManager::none()), ..ComputeOptions::default() });
        let opt = x.compute_dyn();
        match (plain, opt) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "unoptimized {:?} vs optimized {:?}", a.err(), b.err()),
        }
    }
}

// ----- arbitrary (possibly invalid) slices, bottom-up -----

#[derive(Clone)]
struct SliceCase {
    leaf: Leaf,
    chain: Vec<Vec<SliceArg>>,
}

impl fmt::Debug for SliceCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "leaf: {:?}", self.leaf)?;
        for (i, s) in self.chain.iter().enumerate() {
            writeln!(f, "slice {i}: {s:?}")?;
        }
        Ok(())
    }
}

fn gen_slice_case(tape: Vec<u32>) -> SliceCase {
    let mut g = Gen::new(tape);
    let shape = g.shape(3);
    let ty = g.t.pick(&[Ty::F, Ty::I, Ty::B]);
    let Expr::Leaf(_) = g.leaf(ty, &shape) else {
        unreachable!()
    };
    let leaf = g.leaves.pop().unwrap();
    let mut chain = vec![];
    let mut nd = shape.len();
    for _ in 0..g.t.range(1, 3) {
        let nargs = g.t.range(0, nd + 1);
        let mut args = vec![];
        let opt = |g: &mut Gen| {
            if g.t.chance(25) {
                None
            } else {
                Some(g.t.range(0, 30) as i64 - 15)
            }
        };
        for _ in 0..nargs {
            args.push(match g.t.below(10) {
                0 => SliceArg::NewAxis,
                1 => SliceArg::Ellipsis,
                2 | 3 => SliceArg::Index(g.t.range(0, 8) as i64 - 4),
                _ => {
                    let step = match g.t.below(12) {
                        0 => Some(0),
                        1..=3 => None,
                        k => Some([1, 2, 3, 5, -1, -1, -2, -3][k - 4]),
                    };
                    SliceArg::Range {
                        start: opt(&mut g),
                        stop: opt(&mut g),
                        step,
                    }
                }
            });
        }
        let named = args
            .iter()
            .filter(|a| matches!(a, SliceArg::Range { .. } | SliceArg::Index(_)))
            .count();
        let idx = args
            .iter()
            .filter(|a| matches!(a, SliceArg::Index(_)))
            .count();
        let new = args
            .iter()
            .filter(|a| matches!(a, SliceArg::NewAxis))
            .count();
        nd = (nd.max(named) - idx + new).min(4);
        chain.push(args);
    }
    SliceCase { leaf, chain }
}

proptest! {
    #![proptest_config(config(CASES_SLICES, 0x5eed_0004))]
/// Chains of arbitrary basic-indexing expressions (clamped ranges, negative steps,
    /// negative indices, new axes, ellipses; sometimes invalid) agree with the oracle, and
    /// an index the oracle rejects is rejected by `slice` with an error.
    #[test]
    fn slices_match_numpy(case in tape().prop_map(gen_slice_case)) {
        for variant in 0..2 {
            let mut want = case.leaf.val.clone();
            let mut x = make_leaf(&case.leaf.val, &case.leaf.chunks[variant]).unwrap();
                        let mut failed = false;
for args in &case.chain {
                match norm_slice(want.shape(), args) {
                    Ok(items) => {
                        want = want.map_struct(|a| apply_slice(a, &items), |a| apply_slice(a, &items), |a| apply_slice(a, &items));
x = x.slice(args).map_err(|e| TestCaseError::fail(format!("slice {args:?} failed: {e}")))?;
                        let want_shape: Vec<u64> = want.shape().iter().map(|&s| s as u64).collect();
                        prop_assert_eq!(x.shape(), want_shape, "lazy shape after {:?}", args);
                    }
                    Err(why) => {
                        let r = x.slice(args);
                        prop_assert!(r.is_err(), "slice {:?} of shape {:?} should fail ({}) but gave {:?}", args, x.shape(), why, r);
                        failed = true;
                        break;
                    }
                }
            }
                                    if !failed {
let got = x.compute_dyn().map_err(|e| TestCaseError::fail(format!("compute failed: {e}")))?;
                compare(&got, &want).map_err(TestCaseError::fail)?;
            }
        }
    }
}
