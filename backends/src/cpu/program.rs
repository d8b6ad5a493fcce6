//! Evaluation of expression programs, tile by tile.
//!
//! The output block is produced in tiles of [`TILE`] elements (C order). For each tile every
//! instruction runs once as a tight loop over the tile (one `match` per instruction and tile,
//! not per element), reading its operands from small tile registers that stay in cache. So a
//! program of any length makes one pass over its inputs and output in memory, with no
//! intermediate array, and the inner loops are monomorphic and vectorizable.

use super::num::{cast, Num};
use crate::KernelError;
use chunkwise_ir::program::{operands, BinaryOp, CmpOp, Instr, Program, UnaryOp};
use chunkwise_ir::{with_dtype, Complex32, Complex64, DType, DynArray, Element, Scalar};
use ndarray::{ArrayD, IxDyn};

/// Elements per tile: 2048 f64 is 16 KiB per register (measured best of 256 to 4096 on the
/// 10-op chain benchmark).
pub const TILE: usize = 2048;

/// One register: a tile of values of one type.
#[derive(Debug)]
enum Tile {
    Bool(Vec<bool>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    C64(Vec<Complex32>),
    C128(Vec<Complex64>),
}

macro_rules! with_tile {
    ($tile:expr, $v:ident => $body:expr) => {
        match $tile {
            Tile::Bool($v) => $body,
            Tile::I8($v) => $body,
            Tile::U8($v) => $body,
            Tile::I16($v) => $body,
            Tile::U16($v) => $body,
            Tile::I32($v) => $body,
            Tile::U32($v) => $body,
            Tile::I64($v) => $body,
            Tile::U64($v) => $body,
            Tile::F32($v) => $body,
            Tile::F64($v) => $body,
            Tile::C64($v) => $body,
            Tile::C128($v) => $body,
        }
    };
}

/// Typed access to a [`Tile`].
trait TileElem: Num {
    fn tile(len: usize) -> Tile;
    /// A tile of `len` elements, or `None` when the allocation fails.
    fn try_tile(len: usize) -> Option<Tile>;
    fn get(t: &Tile) -> &[Self];
    fn get_mut(t: &mut Tile) -> &mut [Self];
}

macro_rules! tile_elem {
    ($($t:ty => $v:ident),*) => {$(
        impl TileElem for $t {
            fn tile(len: usize) -> Tile { Tile::$v(vec![<$t>::default(); len]) }
            fn try_tile(len: usize) -> Option<Tile> {
                let mut v = Vec::new();
                v.try_reserve_exact(len).ok()?;
                v.resize(len, <$t>::default());
                Some(Tile::$v(v))
            }
            fn get(t: &Tile) -> &[Self] { match t { Tile::$v(v) => v, _ => unreachable!("register type checked at build") } }
            fn get_mut(t: &mut Tile) -> &mut [Self] { match t { Tile::$v(v) => v, _ => unreachable!("register type checked at build") } }
        }
    )*};
}
tile_elem!(bool => Bool, i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32,
    i64 => I64, u64 => U64, f32 => F32, f64 => F64, Complex32 => C64, Complex64 => C128);

fn new_tile(dt: DType, len: usize) -> Tile {
    with_dtype!(dt, T => <T as TileElem>::tile(len))
}

/// The output tile of a block of `shape`. The size is checked
/// (elements and bytes, without overflow) and the allocation is fallible, so a block too
/// large to hold (a new axis of 2^64 - 1 elements) is an error, not a panic or an abort.
fn out_tile(dt: DType, shape: &[usize]) -> Result<Tile, KernelError> {
    let too_large = |why: String| {
        KernelError::BadInput(format!(
            "an output block of shape {shape:?} is too large to allocate: {why}"
        ))
    };
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| too_large("more than 2^64 - 1 elements".into()))?;
    let bytes = n
        .checked_mul(dt.size())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| {
            too_large(format!(
                "{n} elements of {dt}, more than {} bytes",
                isize::MAX
            ))
        })?;
    with_dtype!(dt, T => <T as TileElem>::try_tile(n)).ok_or_else(|| {
        too_large(format!(
            "{n} elements of {dt} ({bytes} bytes): the allocation failed"
        ))
    })
}

/// Where an instruction's value lives during a tile.
#[derive(Clone, Copy, Debug)]
enum Loc {
    /// Register `r`.
    Reg(usize),
    /// Input `k` (contiguous, sliced at the tile offset).
    Input(usize),
}

/// An input prepared for tiling: contiguous data in C order of the output block, or one
/// repeated value.
enum Prepared {
    Contig(DynArray),
    Scalar(Scalar),
}

/// An input of a program, broadcast to the output block shape (C order).
fn prepare(input: &DynArray, shape: &[usize]) -> Result<Prepared, KernelError> {
    if input.len() == 1 && shape.iter().product::<usize>() != 1 {
        return Ok(Prepared::Scalar(input.get_flat(0).expect("one element")));
    }
    chunkwise_ir::with_array!(input, a => {
        if a.shape() == shape && a.is_standard_layout() {
            return Ok(Prepared::Contig(input.clone()));
        }
        let view = a.broadcast(IxDyn(shape)).ok_or_else(|| {
            KernelError::BadInput(format!(
                "input block of shape {:?} does not broadcast to {shape:?}",
                a.shape()
            ))
        })?;
        // Logical (C) order, whatever the strides (negative, permuted, broadcast).
        Ok(Prepared::Contig(Element::wrap(view.as_standard_layout().into_owned().into_shared())))
    })
}

/// Evaluates `p` on `inputs` (each already aligned to the output's axes: same number of
/// dimensions, length 1 or the output length on each axis) into a block of `shape`.
pub fn eval(p: &Program, inputs: &[DynArray], shape: &[usize]) -> Result<DynArray, KernelError> {
    check_inputs(p, inputs)?;
    // A bare input: share it.
    if let [Instr::Input { i }] = p.instrs() {
        let x = &inputs[*i as usize];
        if x.shape() == shape {
            return Ok(x.clone());
        }
    }
    let mut out = out_tile(p.output_dtype(), shape)?;
    eval_into(p, inputs, shape, &mut out, 0)?;
    Ok(wrap(out, shape))
}

/// Evaluates `p` block by block in slabs along axis 0 of `shape`, `rows` at a time, into one
/// output block: `inputs(range)` gives the (aligned) inputs of the rows `range`. Inputs
/// computed per slab stay small, and only the output is allocated whole.
pub fn eval_slabs(
    p: &Program,
    shape: &[usize],
    rows: usize,
    mut inputs: impl FnMut(std::ops::Range<usize>) -> Result<Vec<DynArray>, KernelError>,
) -> Result<DynArray, KernelError> {
    let mut out = out_tile(p.output_dtype(), shape)?;
    let row: usize = shape[1..].iter().product();
    let mut slab_shape = shape.to_vec();
    for start in (0..shape[0]).step_by(rows.max(1)) {
        let end = (start + rows.max(1)).min(shape[0]);
        slab_shape[0] = end - start;
        let ins = inputs(start..end)?;
        check_inputs(p, &ins)?;
        eval_into(p, &ins, &slab_shape, &mut out, start * row)?;
    }
    Ok(wrap(out, shape))
}

/// An error unless `inputs` match the program's inputs in number and dtype.
fn check_inputs(p: &Program, inputs: &[DynArray]) -> Result<(), KernelError> {
    if inputs.len() != p.inputs().len() {
        return Err(KernelError::BadInput(format!(
            "program takes {} inputs, got {}",
            p.inputs().len(),
            inputs.len()
        )));
    }
    for (k, (x, dt)) in inputs.iter().zip(p.inputs()).enumerate() {
        if x.dtype() != *dt {
            return Err(KernelError::BadInput(format!(
                "program input {k} must be {dt}, got {}",
                x.dtype()
            )));
        }
    }
    Ok(())
}

fn wrap(out: Tile, shape: &[usize]) -> DynArray {
    with_tile!(out, v => Element::wrap(ArrayD::from_shape_vec(IxDyn(shape), v).expect("length matches shape").into_shared()))
}

/// Evaluates `p` on `inputs` (checked by [`check_inputs`]) into
/// `out[base..base + product(shape)]`.
fn eval_into(
    p: &Program,
    inputs: &[DynArray],
    shape: &[usize],
    out: &mut Tile,
    base: usize,
) -> Result<(), KernelError> {
    let instrs = p.instrs();
    let prepared = inputs
        .iter()
        .map(|x| prepare(x, shape))
        .collect::<Result<Vec<_>, _>>()?;
    let total: usize = shape.iter().product();

    // Register allocation with reuse after last use. Constants and scalar inputs get
    // registers filled once.
    let n = instrs.len();
    let mut last_use = vec![0usize; n];
    for (i, ins) in instrs.iter().enumerate() {
        for o in operands(ins) {
            last_use[o as usize] = i;
        }
    }
    let dtypes = p.dtypes();
    let mut regs: Vec<Tile> = Vec::new();
    let mut reg_dt: Vec<DType> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut loc: Vec<Loc> = Vec::with_capacity(n);
    let mut pinned = vec![false; n];
    let mut consts: Vec<Option<Scalar>> = vec![None; n];
    let tile_len = TILE.min(total.max(1));
    for (i, ins) in instrs.iter().enumerate() {
        let fixed = match ins {
            Instr::Const { .. } => true,
            Instr::Input { i: k } => matches!(prepared[*k as usize], Prepared::Scalar(_)),
            _ => false,
        };
        if let (Instr::Input { i: k }, false) = (ins, fixed) {
            loc.push(Loc::Input(*k as usize));
            continue;
        }
        let dt = dtypes[i];
        let r = if fixed {
            None
        } else {
            free.iter()
                .position(|&r| reg_dt[r] == dt)
                .map(|p| free.swap_remove(p))
        };
        let r = r.unwrap_or_else(|| {
            regs.push(new_tile(dt, tile_len));
            reg_dt.push(dt);
            regs.len() - 1
        });
        loc.push(Loc::Reg(r));
        pinned[i] = fixed;
        if fixed {
            let value = match ins {
                Instr::Const { value } => *value,
                Instr::Input { i: k } => match prepared[*k as usize] {
                    Prepared::Scalar(s) => s,
                    Prepared::Contig(_) => unreachable!("fixed inputs are scalars"),
                },
                _ => unreachable!("only constants and scalar inputs are fixed"),
            };
            with_tile!(&mut regs[r], v => v.fill(Element::from_scalar(value)));
            consts[i] = Some(value);
        }
        // Free operands whose last use is this instruction (after allocating the output).
        for o in operands(ins) {
            let o = o as usize;
            if last_use[o] == i && !pinned[o] {
                if let Loc::Reg(r) = loc[o] {
                    if !free.contains(&r) {
                        free.push(r);
                    }
                }
            }
        }
    }

    let fixed = (loc.as_slice(), consts.as_slice(), prepared.as_slice());
    let mut off = 0;
    while off < total {
        let len = tile_len.min(total - off);
        for (i, ins) in instrs.iter().enumerate() {
            if pinned[i] || matches!(loc[i], Loc::Input(_)) {
                continue;
            }
            let Loc::Reg(r) = loc[i] else { continue };
            let last = i == n - 1;
            let mut dst = if last {
                None
            } else {
                Some(std::mem::replace(&mut regs[r], Tile::Bool(Vec::new())))
            };
            {
                let ctx = Ctx::at(&regs, fixed, off, len);
                let (target, toff) = match dst.as_mut() {
                    Some(t) => (t, 0),
                    None => (&mut *out, base + off),
                };
                run(ins, &ctx, dtypes, target, toff)?;
            }
            if let Some(t) = dst {
                regs[r] = t;
            }
        }
        // An output that is an input or a constant is copied.
        if pinned[n - 1] || matches!(loc[n - 1], Loc::Input(_)) {
            let ctx = Ctx::at(&regs, fixed, off, len);
            copy_into(&ctx, n - 1, out, base + off, dtypes[n - 1]);
        }
        off += len;
    }
    Ok(())
}

struct Ctx<'a> {
    regs: &'a [Tile],
    loc: &'a [Loc],
    consts: &'a [Option<Scalar>],
    inputs: &'a [Prepared],
    off: usize,
    len: usize,
}

impl<'a> Ctx<'a> {
    /// The operand view of the tile at `off` (registers are borrowed anew around each
    /// instruction, the rest is fixed for the block).
    fn at(
        regs: &'a [Tile],
        (loc, consts, inputs): (&'a [Loc], &'a [Option<Scalar>], &'a [Prepared]),
        off: usize,
        len: usize,
    ) -> Ctx<'a> {
        Ctx {
            regs,
            loc,
            consts,
            inputs,
            off,
            len,
        }
    }

    /// The value of a constant (or scalar input) operand.
    fn scalar<T: Element>(&self, i: u32) -> Option<T> {
        self.consts[i as usize].map(T::from_scalar)
    }

    fn operand<T: TileElem>(&self, i: u32) -> &[T] {
        match self.loc[i as usize] {
            Loc::Reg(r) => &T::get(&self.regs[r])[..self.len],
            Loc::Input(k) => match &self.inputs[k] {
                Prepared::Contig(a) => {
                    let s = a
                        .as_typed::<T>()
                        .and_then(|x| x.as_slice())
                        .expect("prepared inputs are contiguous and typed");
                    &s[self.off..self.off + self.len]
                }
                Prepared::Scalar(_) => unreachable!("scalar inputs live in registers"),
            },
        }
    }
}

fn copy_into(ctx: &Ctx<'_>, i: usize, out: &mut Tile, off: usize, dt: DType) {
    with_dtype!(dt, T => {
        let src = ctx.operand::<T>(i as u32);
        T::get_mut(out)[off..off + ctx.len].copy_from_slice(src);
    })
}

/// Runs one instruction over one tile: with AVX2 when the CPU has it (detected at run time,
/// so binaries stay portable; AVX2 changes no result: IEEE operations round the same, and
/// no multiply-add is fused), else with the baseline instruction set.
fn run(
    ins: &Instr,
    ctx: &Ctx<'_>,
    dtypes: &[DType],
    dst: &mut Tile,
    off: usize,
) -> Result<(), KernelError> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { run_avx2(ins, ctx, dtypes, dst, off) };
    }
    run_any(ins, ctx, dtypes, dst, off)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2(
    ins: &Instr,
    ctx: &Ctx<'_>,
    dtypes: &[DType],
    dst: &mut Tile,
    off: usize,
) -> Result<(), KernelError> {
    run_any(ins, ctx, dtypes, dst, off)
}

/// The instruction loops; inlined into [`run_avx2`] and [`run`], so each is compiled for
/// both instruction sets.
#[inline(always)]
fn run_any(
    ins: &Instr,
    ctx: &Ctx<'_>,
    dtypes: &[DType],
    dst: &mut Tile,
    off: usize,
) -> Result<(), KernelError> {
    if vector_math(ins, ctx, dtypes, dst, off) {
        return Ok(());
    }
    let len = ctx.len;
    match *ins {
        Instr::Input { .. } | Instr::Const { .. } => {}
        Instr::Unary { f: UnaryOp::Exp, a } if dtypes[a as usize] == DType::F64 => {
            super::vmath::exp_f64(
                ctx.operand::<f64>(a),
                &mut f64::get_mut(dst)[off..off + len],
            )
        }
        // The complex functions with a real result write a tile of the component type.
        Instr::Unary {
            f: f @ (UnaryOp::Abs | UnaryOp::Real | UnaryOp::Imag),
            a,
        } if dtypes[a as usize].is_complex() => {
            if dtypes[a as usize] == DType::C64 {
                complex_part(
                    f,
                    ctx.operand::<Complex32>(a),
                    &mut f32::get_mut(dst)[off..off + len],
                )
            } else {
                complex_part(
                    f,
                    ctx.operand::<Complex64>(a),
                    &mut f64::get_mut(dst)[off..off + len],
                )
            }
        }
        Instr::Unary { f, a } => {
            with_dtype!(dtypes[a as usize], T => {
                let x = ctx.operand::<T>(a);
                match f {
                    UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite | UnaryOp::Signbit => {
                        let o = &mut bool::get_mut(dst)[off..off + len];
                        match f {
                            UnaryOp::IsNan => map1(x, o, |v| v.is_nan()),
                            UnaryOp::IsInf => map1(x, o, |v| v.is_inf()),
                            UnaryOp::Signbit => map1(x, o, |v| v.signbit()),
                            _ => map1(x, o, |v| !v.is_nan() && !v.is_inf()),
                        }
                    }
                    _ => unary::<T>(f, x, &mut T::get_mut(dst)[off..off + len]),
                }
            })
        }
        Instr::Binary { f, a, b } => {
            with_dtype!(dtypes[a as usize], T => {
                let o = &mut T::get_mut(dst)[off..off + len];
                // A constant operand is read from a register, not streamed.
                match (ctx.scalar::<T>(a), ctx.scalar::<T>(b)) {
                    (_, Some(y)) => binary_const::<T>(f, ctx.operand::<T>(a), y, false, o),
                    (Some(x), None) => binary_const::<T>(f, ctx.operand::<T>(b), x, true, o),
                    (None, None) => binary::<T>(f, ctx.operand::<T>(a), ctx.operand::<T>(b), o),
                }
            })
        }
        Instr::Compare { f, a, b } => {
            with_dtype!(dtypes[a as usize], T => {
                compare::<T>(f, ctx.operand::<T>(a), ctx.operand::<T>(b), &mut bool::get_mut(dst)[off..off + len])
            })
        }
        Instr::Where { c, a, b } => {
            with_dtype!(dtypes[a as usize], T => {
                let (c, x, y) = (ctx.operand::<bool>(c), ctx.operand::<T>(a), ctx.operand::<T>(b));
                let o = &mut T::get_mut(dst)[off..off + len];
                for i in 0..len {
                    o[i] = if c[i] { x[i] } else { y[i] };
                }
            })
        }
        Instr::Cast { to, a } => {
            with_dtype!(dtypes[a as usize], A => {
                with_dtype!(to, B => {
                    map1(ctx.operand::<A>(a), &mut B::get_mut(dst)[off..off + len], cast::<A, B>)
                })
            })
        }
    }
    Ok(())
}

/// The float functions that glibc's libmvec computes in vectors (see `super::mvec`); false
/// (and nothing written) for any other instruction, or where libmvec is missing.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline(always)]
fn vector_math(ins: &Instr, ctx: &Ctx<'_>, dtypes: &[DType], dst: &mut Tile, off: usize) -> bool {
    use super::mvec;
    let out = off..off + ctx.len;
    match *ins {
        // `exp` of f64 has its own kernel (`super::vmath`), faster than libmvec's.
        Instr::Unary { f, a } => match (dtypes[a as usize], f) {
            (DType::F64, UnaryOp::Exp) => false,
            (DType::F64, _) => mvec::unary::<f64>(f)
                .map(|v| v.apply(ctx.operand(a), &mut f64::get_mut(dst)[out]))
                .is_some(),
            (DType::F32, _) => mvec::unary::<f32>(f)
                .map(|v| v.apply(ctx.operand(a), &mut f32::get_mut(dst)[out]))
                .is_some(),
            _ => false,
        },
        Instr::Binary { f, a, b } => match dtypes[a as usize] {
            DType::F64 => mvec::binary::<f64>(f)
                .map(|v| v.apply(ctx.operand(a), ctx.operand(b), &mut f64::get_mut(dst)[out]))
                .is_some(),
            DType::F32 => mvec::binary::<f32>(f)
                .map(|v| v.apply(ctx.operand(a), ctx.operand(b), &mut f32::get_mut(dst)[out]))
                .is_some(),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[inline(always)]
fn vector_math(_: &Instr, _: &Ctx<'_>, _: &[DType], _: &mut Tile, _: usize) -> bool {
    false
}

#[inline(always)]
fn map1<A: Copy, B>(x: &[A], o: &mut [B], f: impl Fn(A) -> B) {
    for (o, &v) in o.iter_mut().zip(x) {
        *o = f(v);
    }
}

#[inline(always)]
fn map2<A: Copy, B>(x: &[A], y: &[A], o: &mut [B], f: impl Fn(A, A) -> B) {
    let n = o.len();
    let (x, y) = (&x[..n], &y[..n]);
    for i in 0..n {
        o[i] = f(x[i], y[i]);
    }
}

/// Calls `$apply` with the element function of a binary operation, so that every arm is
/// a monomorphic loop.
macro_rules! with_binary_fn {
    ($f:expr, $T:ty, $g:ident => $apply:expr) => {
        with_binary_fn!(@arms $f, $T, $g, $apply;
            num: Add add, Sub sub, Mul mul, Div div, FloorDiv floor_div, Rem rem, Pow pow,
                Minimum minimum, Maximum maximum, And and, Or or, Xor xor, Shl shl, Shr shr;
            float: Arctan2, Copysign, Hypot, Logaddexp, Nextafter)
    };
    (@arms $f:expr, $T:ty, $g:ident, $apply:expr;
        num: $($op:ident $m:ident),*; float: $($fop:ident),*) => {
        match $f {
            $(BinaryOp::$op => {
                let $g = <$T>::$m;
                $apply
            })*
            $(BinaryOp::$fop => {
                let $g = |a: $T, b: $T| float2::<$T>(BinaryOp::$fop, a, b);
                $apply
            })*
        }
    };
}

#[inline(always)]
fn binary<T: Num>(f: BinaryOp, x: &[T], y: &[T], o: &mut [T]) {
    with_binary_fn!(f, T, g => map2(x, y, o, g))
}

/// `x op c` (or `c op x` when `swapped`) with a constant `c`.
#[inline(always)]
fn binary_const<T: Num>(f: BinaryOp, x: &[T], c: T, swapped: bool, o: &mut [T]) {
    // Division by a power of two is an exact multiplication (and several times faster).
    if let (BinaryOp::Div, false, Some(r)) = (f, swapped, c.exact_recip()) {
        return map1(x, o, |v| v.mul(r));
    }
    if swapped {
        with_binary_fn!(f, T, g => map1(x, o, |v| g(c, v)))
    } else {
        with_binary_fn!(f, T, g => map1(x, o, |v| g(v, c)))
    }
}

#[inline(always)]
fn compare<T: Num>(f: CmpOp, x: &[T], y: &[T], o: &mut [bool]) {
    match f {
        CmpOp::Eq => map2(x, y, o, |a, b| a == b),
        CmpOp::Ne => map2(x, y, o, |a, b| a != b),
        CmpOp::Lt => map2(x, y, o, T::lt),
        CmpOp::Le => map2(x, y, o, T::le),
        CmpOp::Gt => map2(x, y, o, |a, b| b.lt(a)),
        CmpOp::Ge => map2(x, y, o, |a, b| b.le(a)),
    }
}

/// `abs`, `real` or `imag` of complex elements, into their component type `R`.
#[inline(always)]
fn complex_part<C: Num, R: Num>(f: UnaryOp, x: &[C], o: &mut [R]) {
    match f {
        UnaryOp::Real => map1(x, o, |v| R::from_f64(v.to_c128().re)),
        UnaryOp::Imag => map1(x, o, |v| R::from_f64(v.to_c128().im)),
        // |z| in f64 and rounded: for c64, C's hypotf (NumPy's) computes the same way.
        _ => map1(x, o, |v| {
            let c = v.to_c128();
            R::from_f64(c.re.hypot(c.im))
        }),
    }
}

/// Float math in the operand's own precision (f32 stays f32).
pub(super) trait Math: Sized {
    fn math(f: UnaryOp, x: Self) -> Self;
    /// The binary operations defined on floats only.
    fn math2(f: BinaryOp, a: Self, b: Self) -> Self;
}

macro_rules! math {
    ($($t:ident: $asinh:ident, $acosh:ident, $atanh:ident);*) => {$(
        impl Math for $t {
            #[inline(always)]
            fn math(f: UnaryOp, x: $t) -> $t {
                match f {
                    UnaryOp::Exp => x.exp(),
                    UnaryOp::Expm1 => x.exp_m1(),
                    UnaryOp::Exp2 => x.exp2(),
                    UnaryOp::Log => x.ln(),
                    UnaryOp::Log1p => x.ln_1p(),
                    UnaryOp::Log2 => x.log2(),
                    UnaryOp::Log10 => x.log10(),
                    UnaryOp::Sqrt => x.sqrt(),
                    UnaryOp::Sin => x.sin(),
                    UnaryOp::Cos => x.cos(),
                    UnaryOp::Tan => x.tan(),
                    UnaryOp::Arcsin => x.asin(),
                    UnaryOp::Arccos => x.acos(),
                    UnaryOp::Arctan => x.atan(),
                    UnaryOp::Sinh => x.sinh(),
                    UnaryOp::Cosh => x.cosh(),
                    UnaryOp::Tanh => x.tanh(),
                    UnaryOp::Arcsinh => super::cmath::$asinh(x),
                    UnaryOp::Arccosh => super::cmath::$acosh(x),
                    UnaryOp::Arctanh => super::cmath::$atanh(x),
                    UnaryOp::Floor => x.floor(),
                    UnaryOp::Ceil => x.ceil(),
                    UnaryOp::Trunc => x.trunc(),
                    _ => <$t>::NAN,
                }
            }

            #[inline(always)]
            fn math2(f: BinaryOp, a: $t, b: $t) -> $t {
                match f {
                    BinaryOp::Arctan2 => a.atan2(b),
                    BinaryOp::Copysign => a.copysign(b),
                    BinaryOp::Hypot => a.hypot(b),
                    BinaryOp::Logaddexp => {
                        // NumPy's npy_logaddexp: equal arguments (infinities of one sign
                        // included) give a + ln 2; a NaN difference propagates.
                        if a == b {
                            return a + std::$t::consts::LN_2;
                        }
                        let d = a - b;
                        if d > 0.0 {
                            a + (-d).exp().ln_1p()
                        } else if d <= 0.0 {
                            b + d.exp().ln_1p()
                        } else {
                            d
                        }
                    }
                    BinaryOp::Nextafter => {
                        if a.is_nan() || b.is_nan() {
                            return a + b;
                        }
                        if a == b {
                            return b;
                        }
                        if a == 0.0 {
                            return <$t>::from_bits(1).copysign(b);
                        }
                        // Away from zero: the next bit pattern; toward zero: the previous.
                        let bits = a.to_bits();
                        <$t>::from_bits(if (b > a) == (a > 0.0) { bits + 1 } else { bits - 1 })
                    }
                    _ => <$t>::NAN,
                }
            }
        }
    )*};
}
math!(f32: asinh_f32, acosh_f32, atanh_f32; f64: asinh, acosh, atanh);

/// A float-only binary operation in the operands' own precision (f32 stays f32).
#[inline(always)]
fn float2<T: Num>(f: BinaryOp, a: T, b: T) -> T {
    match T::DTYPE {
        DType::F32 => T::from_f64(f32::math2(f, a.to_f64() as f32, b.to_f64() as f32) as f64),
        _ => T::from_f64(f64::math2(f, a.to_f64(), b.to_f64())),
    }
}

#[inline(always)]
fn unary<T: Num>(f: UnaryOp, x: &[T], o: &mut [T]) {
    match f {
        UnaryOp::Neg => map1(x, o, T::neg),
        UnaryOp::Abs => map1(x, o, T::abs),
        UnaryOp::Sign => map1(x, o, T::sign),
        UnaryOp::Square => map1(x, o, T::square),
        UnaryOp::Not => map1(x, o, T::not),
        UnaryOp::Round => map1(x, o, T::round),
        UnaryOp::Trunc if !T::DTYPE.is_float() => map1(x, o, |v| v),
        // `imag` of a real type (its complex forms run in `complex_part`).
        UnaryOp::Imag => map1(x, o, |_| T::default()),
        UnaryOp::Real | UnaryOp::Conj => map1(x, o, T::conj),
        UnaryOp::Sqrt if T::DTYPE == DType::F64 => map1(x, o, |v| T::from_f64(v.to_f64().sqrt())),
        _ => match T::DTYPE {
            DType::C64 => map1(x, o, |v| {
                let c = v.to_c128();
                let z = super::cmath::math_c64(f, Complex32::new(c.re as f32, c.im as f32));
                T::from_c128(Complex64::new(z.re as f64, z.im as f64))
            }),
            DType::C128 => map1(x, o, |v| {
                T::from_c128(super::cmath::math_c128(f, v.to_c128()))
            }),
            DType::F32 => map1(
                x,
                o,
                |v| T::from_f64(f32::math(f, v.to_f64() as f32) as f64),
            ),
            _ => map1(x, o, |v| T::from_f64(f64::math(f, v.to_f64()))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkwise_ir::program::ProgramBuilder;
    use ndarray::ArrayD;

    fn arr(v: Vec<f64>, shape: &[usize]) -> DynArray {
        DynArray::new(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
    }

    #[test]
    fn blocks_too_large_to_allocate_are_errors() {
        let p = Program::build(vec![DType::F64], |b, i| {
            let one = b.constant(1.0f64.into());
            b.binary(BinaryOp::Add, i[0], one)
        })
        .unwrap();
        let x = arr(vec![1.0], &[1, 1]);
        // Elements overflow; bytes overflow; bytes fit but no allocator gives them.
        for shape in [[4, usize::MAX], [1, usize::MAX / 4], [1, (1 << 60) - 1]] {
            let e = eval(&p, std::slice::from_ref(&x), &shape).unwrap_err();
            assert!(e.to_string().contains("too large to allocate"), "{e}");
            let e = eval_slabs(&p, &shape, 1, |_| Ok(vec![x.clone()])).unwrap_err();
            assert!(e.to_string().contains("too large to allocate"), "{e}");
        }
    }

    #[test]
    fn division_by_powers_of_two_is_bit_exact() {
        let mut vals = vec![
            0.0,
            -0.0,
            1.0,
            -3.5,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            5e-324,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut z = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            z = z
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            vals.push(f64::from_bits(z));
        }
        for c in [4.0, 0.5, -2.0, 2f64.powi(-1000), 2f64.powi(1000), 3.0, 0.1] {
            let mut b = ProgramBuilder::new(vec![DType::F64]);
            let x = b.input(0);
            let k = b.constant(Scalar::F64(c));
            let q = b.binary(BinaryOp::Div, x, k).unwrap();
            let p = b.finish(q);
            let out = eval(&p, &[arr(vals.clone(), &[vals.len()])], &[vals.len()]).unwrap();
            let out = out.as_typed::<f64>().unwrap();
            for (v, o) in vals.iter().zip(out.iter()) {
                let want = v / c;
                assert!(
                    want.to_bits() == o.to_bits() || (want.is_nan() && o.is_nan()),
                    "{v:e} / {c:e}: {o:e}, expected {want:e}"
                );
            }
        }
    }

    #[test]
    fn chain_matches_scalar_code() {
        // ((x + 1) * 2 + (x + 1) * 3) - sqrt(|x|), over 3000 elements (several tiles).
        let mut b = ProgramBuilder::new(vec![DType::F64]);
        let x = b.input(0);
        let one = b.constant(1.0f64.into());
        let x1 = b.binary(BinaryOp::Add, x, one).unwrap();
        let two = b.constant(2.0f64.into());
        let three = b.constant(3.0f64.into());
        let a = b.binary(BinaryOp::Mul, x1, two).unwrap();
        let c = b.binary(BinaryOp::Mul, x1, three).unwrap();
        let s = b.binary(BinaryOp::Add, a, c).unwrap();
        let ab = b.unary(UnaryOp::Abs, x).unwrap();
        let q = b.unary(UnaryOp::Sqrt, ab).unwrap();
        let out = b.binary(BinaryOp::Sub, s, q).unwrap();
        let p = b.finish(out);
        let v: Vec<f64> = (0..3000).map(|i| i as f64 * 0.37 - 500.0).collect();
        let r = eval(&p, &[arr(v.clone(), &[30, 100])], &[30, 100]).unwrap();
        let r = r.as_typed::<f64>().unwrap();
        for (i, x) in v.iter().enumerate() {
            let want = ((x + 1.0) * 2.0 + (x + 1.0) * 3.0) - x.abs().sqrt();
            assert_eq!(r.as_slice().unwrap()[i], want);
        }
    }

    #[test]
    fn broadcasting_and_types() {
        // where(x > y, x, 0) with y broadcast along rows; i32 vs f64 promotes to f64.
        let x = DynArray::new(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1i32, 5, 3, 7, 2, 9]).unwrap(),
        );
        let y = arr(vec![2.0, 4.0, 6.0], &[1, 3]);
        let p = chunkwise_ir::program::Program::build(vec![DType::I32, DType::F64], |b, ins| {
            let c = b.compare(CmpOp::Gt, ins[0], ins[1])?;
            let z = b.constant(Scalar::I32(0));
            Ok(b.where_(c, ins[0], z))
        })
        .unwrap();
        let r = eval(&p, &[x, y], &[2, 3]).unwrap();
        assert_eq!(
            r.as_typed::<i32>().unwrap().as_slice().unwrap(),
            &[0, 5, 0, 7, 0, 9]
        );
    }

    #[test]
    fn integer_semantics_follow_numpy() {
        let x = DynArray::new(ArrayD::from_shape_vec(IxDyn(&[4]), vec![-7i64, 7, -7, 7]).unwrap());
        let y = DynArray::new(ArrayD::from_shape_vec(IxDyn(&[4]), vec![2i64, -2, 0, 3]).unwrap());
        let fd = chunkwise_ir::program::Program::build(vec![DType::I64, DType::I64], |b, i| {
            b.binary(BinaryOp::FloorDiv, i[0], i[1])
        })
        .unwrap();
        let rm = chunkwise_ir::program::Program::build(vec![DType::I64, DType::I64], |b, i| {
            b.binary(BinaryOp::Rem, i[0], i[1])
        })
        .unwrap();
        let a = eval(&fd, &[x.clone(), y.clone()], &[4]).unwrap();
        let m = eval(&rm, &[x, y], &[4]).unwrap();
        assert_eq!(
            a.as_typed::<i64>().unwrap().as_slice().unwrap(),
            &[-4, -4, 0, 2]
        );
        assert_eq!(
            m.as_typed::<i64>().unwrap().as_slice().unwrap(),
            &[1, -1, 0, 1]
        );
    }
}
