//! Expression programs: the kernels of elementwise blockwise layers.
//!
//! A [`Program`] is a small SSA expression DAG over the input chunks of a blockwise task:
//! every instruction reads earlier instructions and has one element type. The CPU backend
//! evaluates a whole program tile by tile (a few thousand elements at a time), so a chain of
//! operations makes one pass over memory with no intermediate array per operation; fusion
//! (in `chunkwise-passes`) merges the programs of neighbouring layers into one.
//!
//! Types are fixed when the program is built: binary operations take operands of one type
//! (the builder inserts [`Instr::Cast`] according to [`DType::promote`]).
//!
//! Complex operands (`c64`, `c128`) take the arithmetic, `pow`, the exponential, logarithmic,
//! trigonometric and hyperbolic functions, `sqrt`, `square`, `sign` (`z / |z|`), `abs`,
//! `real` and `imag` (these three give the component type), `conj`, `round` (each
//! component), `isnan`/`isinf`/`isfinite`, `==`/`!=`, `where` and casts. Operations that
//! need an order (`<`, `minimum`, `floor`, `//`, `%`, ...) or bits are refused with
//! [`IrError::UnsupportedDType`]: complex numbers have none.
//!
//! ```
//! use chunkwise_ir::{DType, program::{ProgramBuilder, BinaryOp, UnaryOp}};
//! // exp(x) - 1 / x for an f64 input.
//! let mut b = ProgramBuilder::new(vec![DType::F64]);
//! let x = b.input(0);
//! let e = b.unary(UnaryOp::Exp, x).unwrap();
//! let one = b.constant(1.0f64.into());
//! let r = b.binary(BinaryOp::Div, one, x).unwrap();
//! let out = b.binary(BinaryOp::Sub, e, r).unwrap();
//! let p = b.finish(out);
//! assert_eq!(p.output_dtype(), DType::F64);
//! assert_eq!(p.to_string(), "exp(x0) - (1.0 / x0)");
//! ```

use crate::dtype::{DType, Kind, Scalar};
use crate::error::IrError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Unary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnaryOp {
    /// `-x` (numbers only).
    Neg,
    /// `|x|`.
    Abs,
    /// The sign: -1, 0 or 1 (NaN stays NaN).
    Sign,
    /// `x * x`.
    Square,
    /// `e^x`.
    Exp,
    /// `e^x - 1`.
    Expm1,
    /// `2^x`.
    Exp2,
    /// Natural logarithm.
    Log,
    /// `ln(1 + x)`.
    Log1p,
    /// Base-2 logarithm.
    Log2,
    /// Base-10 logarithm.
    Log10,
    /// Square root.
    Sqrt,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// Tangent.
    Tan,
    /// Inverse sine.
    Arcsin,
    /// Inverse cosine.
    Arccos,
    /// Inverse tangent.
    Arctan,
    /// Hyperbolic sine.
    Sinh,
    /// Hyperbolic cosine.
    Cosh,
    /// Hyperbolic tangent.
    Tanh,
    /// Inverse hyperbolic sine.
    Arcsinh,
    /// Inverse hyperbolic cosine (NaN below 1).
    Arccosh,
    /// Inverse hyperbolic tangent (±inf at ±1, NaN beyond).
    Arctanh,
    /// Round toward minus infinity.
    Floor,
    /// Round toward plus infinity.
    Ceil,
    /// Round half to even (NumPy's `round`); integers are unchanged.
    Round,
    /// Round toward zero (NumPy's `trunc`); integers are unchanged.
    Trunc,
    /// Logical not (bool), bitwise not (integers).
    Not,
    /// Whether the value is NaN.
    IsNan,
    /// Whether the value is infinite.
    IsInf,
    /// Whether the value is finite.
    IsFinite,
    /// Whether the sign bit is set (NumPy's `signbit`): true for -0.0 and for NaNs with the
    /// sign bit; integers: `x < 0`; bool: false.
    Signbit,
    /// The real part (of the component type; real types are unchanged: the builder emits
    /// no instruction).
    Real,
    /// The imaginary part (of the component type; zeros of the same type for real types).
    Imag,
    /// The complex conjugate (real types are unchanged: the builder emits no instruction).
    Conj,
}

/// Binary operations on operands of one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BinaryOp {
    /// `a + b` (integers wrap; logical or on bool).
    Add,
    /// `a - b` (integers wrap).
    Sub,
    /// `a * b` (integers wrap; logical and on bool).
    Mul,
    /// True division; the operands are floats.
    Div,
    /// Floor division (NumPy `//`; integer division by zero gives 0).
    FloorDiv,
    /// Remainder with the sign of the divisor (NumPy `%`; integer `x % 0` gives 0).
    Rem,
    /// `a ** b` (integers: wrapping power, negative exponents give 0).
    Pow,
    /// Elementwise minimum, NaN-propagating (NumPy `minimum`).
    Minimum,
    /// Elementwise maximum, NaN-propagating (NumPy `maximum`).
    Maximum,
    /// Logical (bool) or bitwise (integer) and.
    And,
    /// Logical (bool) or bitwise (integer) or.
    Or,
    /// Logical (bool) or bitwise (integer) exclusive or.
    Xor,
    /// `atan2(a, b)` (floats).
    Arctan2,
    /// The magnitude of `a` with the sign bit of `b` (floats).
    Copysign,
    /// `sqrt(a^2 + b^2)` without undue overflow (floats; C's `hypot`: inf if either is
    /// infinite, even with a NaN).
    Hypot,
    /// `ln(e^a + e^b)` computed stably (floats; NumPy's `logaddexp`).
    Logaddexp,
    /// The next representable value after `a` toward `b`, in the operands' own precision
    /// (floats; C's `nextafter`).
    Nextafter,
    /// `a << b` (integers only; NumPy's `left_shift`: a count outside `0..bits`, negative
    /// counts included, gives 0).
    Shl,
    /// `a >> b`, arithmetic for signed types (integers only; NumPy's `right_shift`: a count
    /// outside `0..bits`, negative counts included, gives 0, or -1 for negative `a`).
    Shr,
}

/// Comparisons; the result is bool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CmpOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// One instruction of a program; operands are indices of earlier instructions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Instr {
    /// The chunk of input `i`, broadcast to the output block.
    Input {
        /// Input number.
        i: u32,
    },
    /// A constant.
    Const {
        /// The value.
        value: Scalar,
    },
    /// A unary operation.
    Unary {
        /// Operation.
        f: UnaryOp,
        /// Operand.
        a: u32,
    },
    /// A binary operation (operands of equal type).
    Binary {
        /// Operation.
        f: BinaryOp,
        /// Left operand.
        a: u32,
        /// Right operand.
        b: u32,
    },
    /// A comparison (operands of equal type).
    Compare {
        /// Comparison.
        f: CmpOp,
        /// Left operand.
        a: u32,
        /// Right operand.
        b: u32,
    },
    /// `if c { a } else { b }` (`c` is bool; `a` and `b` of equal type).
    Where {
        /// Condition.
        c: u32,
        /// Value where true.
        a: u32,
        /// Value where false.
        b: u32,
    },
    /// Type conversion.
    Cast {
        /// Target type.
        to: DType,
        /// Operand.
        a: u32,
    },
}

/// A typed expression DAG; the last instruction is the output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ProgramDef", into = "ProgramDef")]
pub struct Program {
    inputs: Vec<DType>,
    instrs: Vec<Instr>,
    dtypes: Vec<DType>,
}

#[derive(Serialize, Deserialize)]
struct ProgramDef {
    inputs: Vec<DType>,
    instrs: Vec<Instr>,
}

impl From<Program> for ProgramDef {
    fn from(p: Program) -> ProgramDef {
        ProgramDef {
            inputs: p.inputs,
            instrs: p.instrs,
        }
    }
}

impl TryFrom<ProgramDef> for Program {
    type Error = IrError;
    fn try_from(d: ProgramDef) -> Result<Program, IrError> {
        let mut b = ProgramBuilder::new(d.inputs);
        if d.instrs.is_empty() {
            return Err(IrError::MalformedGraph("empty program".into()));
        }
        for ins in d.instrs {
            b.push_checked(ins)?;
        }
        let out = b.len() - 1;
        Ok(b.finish(out))
    }
}

impl Program {
    /// Input types.
    pub fn inputs(&self) -> &[DType] {
        &self.inputs
    }

    /// Instructions, in evaluation order; the last is the output.
    pub fn instrs(&self) -> &[Instr] {
        &self.instrs
    }

    /// Type of each instruction.
    pub fn dtypes(&self) -> &[DType] {
        &self.dtypes
    }

    /// Type of the output.
    pub fn output_dtype(&self) -> DType {
        *self.dtypes.last().expect("programs are never empty")
    }

    /// The program `op(x0, x1, ...)` of one operation applied to its inputs; a convenience
    /// for front-ends. `build` receives the builder and the input instructions.
    pub fn build(
        inputs: Vec<DType>,
        build: impl FnOnce(&mut ProgramBuilder, &[u32]) -> Result<u32, IrError>,
    ) -> Result<Program, IrError> {
        let mut b = ProgramBuilder::new(inputs);
        let ins: Vec<u32> = (0..b.inputs.len() as u32).map(|i| b.input(i)).collect();
        let out = build(&mut b, &ins)?;
        Ok(b.finish(out))
    }

    /// A short name for displays: the operation of the output instruction.
    pub fn name(&self) -> String {
        match self.instrs.last().expect("programs are never empty") {
            Instr::Input { .. } => "identity".into(),
            Instr::Const { .. } => "const".into(),
            Instr::Unary { f, .. } => format!("{f:?}").to_lowercase(),
            Instr::Binary { f, .. } => format!("{f:?}").to_lowercase(),
            Instr::Compare { f, .. } => format!("{f:?}").to_lowercase(),
            Instr::Where { .. } => "where".into(),
            Instr::Cast { to, .. } => format!("astype-{to}"),
        }
    }

    fn fmt_instr(&self, i: usize, f: &mut fmt::Formatter<'_>, top: bool) -> fmt::Result {
        let paren = |f: &mut fmt::Formatter<'_>, open: bool| {
            if !top {
                f.write_str(if open { "(" } else { ")" })
            } else {
                Ok(())
            }
        };
        match self.instrs[i] {
            Instr::Input { i } => write!(f, "x{i}"),
            Instr::Const { value } => write!(f, "{value}"),
            Instr::Unary { f: op, a } => {
                write!(f, "{}(", format!("{op:?}").to_lowercase())?;
                self.fmt_instr(a as usize, f, true)?;
                f.write_str(")")
            }
            Instr::Binary { f: op, a, b } => {
                let sym = match op {
                    BinaryOp::Add => Some("+"),
                    BinaryOp::Sub => Some("-"),
                    BinaryOp::Mul => Some("*"),
                    BinaryOp::Div => Some("/"),
                    BinaryOp::FloorDiv => Some("//"),
                    BinaryOp::Rem => Some("%"),
                    BinaryOp::Pow => Some("**"),
                    BinaryOp::And => Some("&"),
                    BinaryOp::Or => Some("|"),
                    BinaryOp::Xor => Some("^"),
                    BinaryOp::Shl => Some("<<"),
                    BinaryOp::Shr => Some(">>"),
                    _ => None,
                };
                match sym {
                    Some(s) => {
                        paren(f, true)?;
                        self.fmt_instr(a as usize, f, false)?;
                        write!(f, " {s} ")?;
                        self.fmt_instr(b as usize, f, false)?;
                        paren(f, false)
                    }
                    None => {
                        write!(f, "{}(", format!("{op:?}").to_lowercase())?;
                        self.fmt_instr(a as usize, f, true)?;
                        f.write_str(", ")?;
                        self.fmt_instr(b as usize, f, true)?;
                        f.write_str(")")
                    }
                }
            }
            Instr::Compare { f: op, a, b } => {
                let s = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                paren(f, true)?;
                self.fmt_instr(a as usize, f, false)?;
                write!(f, " {s} ")?;
                self.fmt_instr(b as usize, f, false)?;
                paren(f, false)
            }
            Instr::Where { c, a, b } => {
                f.write_str("where(")?;
                self.fmt_instr(c as usize, f, true)?;
                f.write_str(", ")?;
                self.fmt_instr(a as usize, f, true)?;
                f.write_str(", ")?;
                self.fmt_instr(b as usize, f, true)?;
                f.write_str(")")
            }
            Instr::Cast { to, a } => {
                write!(f, "{to}(")?;
                self.fmt_instr(a as usize, f, true)?;
                f.write_str(")")
            }
        }
    }
}

impl fmt::Display for Program {
    /// The program as one expression (shared sub-expressions are printed at each use).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_instr(self.instrs.len() - 1, f, true)
    }
}

/// Builds a [`Program`], checking and inferring types.
#[derive(Debug)]
pub struct ProgramBuilder {
    inputs: Vec<DType>,
    instrs: Vec<Instr>,
    dtypes: Vec<DType>,
}

impl ProgramBuilder {
    /// A builder for a program over inputs of the given types.
    pub fn new(inputs: Vec<DType>) -> ProgramBuilder {
        ProgramBuilder {
            inputs,
            instrs: Vec::new(),
            dtypes: Vec::new(),
        }
    }

    /// Number of instructions so far.
    pub fn len(&self) -> u32 {
        self.instrs.len() as u32
    }

    /// Whether no instruction was added yet.
    pub fn is_empty(&self) -> bool {
        self.instrs.is_empty()
    }

    /// The type of instruction `i`.
    pub fn dtype(&self, i: u32) -> DType {
        self.dtypes[i as usize]
    }

    fn push(&mut self, ins: Instr, dtype: DType) -> u32 {
        self.instrs.push(ins);
        self.dtypes.push(dtype);
        self.len() - 1
    }

    /// Input `i` (panics if `i` is not an input number: builder misuse, not user input).
    pub fn input(&mut self, i: u32) -> u32 {
        let dt = self.inputs[i as usize];
        self.push(Instr::Input { i }, dt)
    }

    /// A constant.
    pub fn constant(&mut self, value: Scalar) -> u32 {
        self.push(Instr::Const { value }, value.dtype())
    }

    /// Converts `a` to `to` (no instruction when it already has that type).
    pub fn cast(&mut self, a: u32, to: DType) -> u32 {
        if self.dtype(a) == to {
            return a;
        }
        if let Instr::Const { value } = self.instrs[a as usize] {
            return self.constant(value.cast(to));
        }
        self.push(Instr::Cast { to, a }, to)
    }

    /// A unary operation; integer inputs of math functions are converted to floats
    /// ([`DType::float_result`]). `real` and `conj` of a real operand are the operand itself.
    pub fn unary(&mut self, f: UnaryOp, a: u32) -> Result<u32, IrError> {
        use UnaryOp::*;
        let dt = self.dtype(a);
        if dt.is_complex() && matches!(f, Floor | Ceil | Trunc | Not | Signbit) {
            return Err(IrError::UnsupportedDType(format!(
                "{f:?} is not defined for {dt} arrays (complex numbers have no order)"
            )));
        }
        let (operand, out) = match f {
            Abs if dt.is_complex() => (dt, dt.real_dtype()),
            Neg | Abs | Sign | Square => {
                if dt == DType::Bool {
                    return Err(IrError::UnsupportedDType(format!(
                        "{f:?} is not defined for bool arrays"
                    )));
                }
                (dt, dt)
            }
            Round | Trunc => (dt, dt),
            Not => {
                if dt.is_float() {
                    return Err(IrError::UnsupportedDType(format!(
                        "logical/bitwise not is not defined for {dt} arrays"
                    )));
                }
                (dt, dt)
            }
            Real | Conj if !dt.is_complex() => return Ok(a),
            Real | Imag => (dt, dt.real_dtype()),
            Conj => (dt, dt),
            IsNan | IsInf | IsFinite | Signbit => (dt, DType::Bool),
            _ => (dt.float_result(), dt.float_result()),
        };
        let a = self.cast(a, operand);
        Ok(self.push(Instr::Unary { f, a }, out))
    }

    /// A binary operation; operands are promoted to a common type first.
    pub fn binary(&mut self, f: BinaryOp, a: u32, b: u32) -> Result<u32, IrError> {
        use BinaryOp::*;
        let common = self.dtype(a).promote(self.dtype(b));
        let operand = match f {
            FloorDiv | Rem | Minimum | Maximum | And | Or | Xor | Shl | Shr | Arctan2
            | Copysign | Hypot | Logaddexp | Nextafter
                if common.is_complex() =>
            {
                return Err(IrError::UnsupportedDType(format!(
                    "{f:?} is not defined for {common} arrays (complex numbers have no order)"
                )))
            }
            // True division of integers (and bool) gives f64, as in NumPy.
            Div if !common.is_inexact() => DType::F64,
            Div | Arctan2 | Copysign | Hypot | Logaddexp | Nextafter => common.float_result(),
            And | Or | Xor if common.is_float() => {
                return Err(IrError::UnsupportedDType(format!(
                    "{f:?} is not defined for {common} arrays"
                )))
            }
            Shl | Shr if common.is_float() || common == DType::Bool => {
                return Err(IrError::UnsupportedDType(format!(
                    "{f:?} is defined for integer arrays only, not {common}"
                )))
            }
            Sub | FloorDiv | Rem | Pow if common == DType::Bool => {
                return Err(IrError::UnsupportedDType(format!(
                    "{f:?} is not defined for bool arrays (convert with astype first)"
                )))
            }
            _ => common,
        };
        let a = self.cast(a, operand);
        let b = self.cast(b, operand);
        Ok(self.push(Instr::Binary { f, a, b }, operand))
    }

    /// A comparison; operands are promoted to a common type first. Complex operands take
    /// `==` and `!=` only (an [`IrError::UnsupportedDType`] otherwise).
    pub fn compare(&mut self, f: CmpOp, a: u32, b: u32) -> Result<u32, IrError> {
        let common = self.dtype(a).promote(self.dtype(b));
        if common.is_complex() && !matches!(f, CmpOp::Eq | CmpOp::Ne) {
            return Err(IrError::UnsupportedDType(format!(
                "{f:?} is not defined for {common} arrays (complex numbers have no order)"
            )));
        }
        let a = self.cast(a, common);
        let b = self.cast(b, common);
        Ok(self.push(Instr::Compare { f, a, b }, DType::Bool))
    }

    /// `where(c, a, b)`; `c` is converted to bool, `a` and `b` promoted to a common type.
    pub fn where_(&mut self, c: u32, a: u32, b: u32) -> u32 {
        let c = self.cast(c, DType::Bool);
        let common = self.dtype(a).promote(self.dtype(b));
        let a = self.cast(a, common);
        let b = self.cast(b, common);
        self.push(Instr::Where { c, a, b }, common)
    }

    /// Adds an instruction given in full (from a file), checking operands and types.
    pub fn push_checked(&mut self, ins: Instr) -> Result<u32, IrError> {
        let n = self.len();
        let check = |x: u32| {
            if x < n {
                Ok(())
            } else {
                Err(IrError::MalformedGraph(format!(
                    "program instruction {n} reads instruction {x}, which is not defined before it"
                )))
            }
        };
        let same = |s: &Self, a: u32, b: u32| {
            if s.dtype(a) == s.dtype(b) {
                Ok(())
            } else {
                Err(IrError::MalformedGraph(format!(
                    "program instruction {n} mixes {} and {} operands",
                    s.dtype(a),
                    s.dtype(b)
                )))
            }
        };
        match ins {
            Instr::Input { i } => {
                if (i as usize) < self.inputs.len() {
                    Ok(self.input(i))
                } else {
                    Err(IrError::MalformedGraph(format!(
                        "program reads input {i} of {}",
                        self.inputs.len()
                    )))
                }
            }
            Instr::Const { value } => Ok(self.constant(value)),
            Instr::Cast { to, a } => {
                check(a)?;
                Ok(self.push(Instr::Cast { to, a }, to))
            }
            Instr::Unary { f, a } => {
                check(a)?;
                let r = self.unary(f, a)?;
                if self.instrs[r as usize] != ins {
                    return Err(IrError::MalformedGraph(format!(
                        "program instruction {n}: {f:?} of a {} operand needs a cast",
                        self.dtype(a)
                    )));
                }
                Ok(r)
            }
            Instr::Binary { f, a, b } => {
                check(a)?;
                check(b)?;
                same(self, a, b)?;
                let r = self.binary(f, a, b)?;
                if self.instrs[r as usize] != ins {
                    return Err(IrError::MalformedGraph(format!(
                        "program instruction {n}: {f:?} of {} operands needs a cast",
                        self.dtype(a)
                    )));
                }
                Ok(r)
            }
            Instr::Compare { f, a, b } => {
                check(a)?;
                check(b)?;
                same(self, a, b)?;
                self.compare(f, a, b)
            }
            Instr::Where { c, a, b } => {
                check(c)?;
                check(a)?;
                check(b)?;
                same(self, a, b)?;
                if self.dtype(c) != DType::Bool {
                    return Err(IrError::MalformedGraph(format!(
                        "program instruction {n}: where condition is not bool"
                    )));
                }
                Ok(self.where_(c, a, b))
            }
        }
    }

    /// Finishes the program with `out` as its result (instructions not needed for `out`
    /// are dropped).
    pub fn finish(self, out: u32) -> Program {
        // Keep only instructions reachable from `out`, renumbered in order.
        let n = out as usize + 1;
        let mut live = vec![false; n];
        live[out as usize] = true;
        for i in (0..n).rev() {
            if live[i] {
                for o in operands(&self.instrs[i]) {
                    live[o as usize] = true;
                }
            }
        }
        let mut map = vec![u32::MAX; n];
        let mut instrs = Vec::new();
        let mut dtypes = Vec::new();
        for i in 0..n {
            if live[i] {
                map[i] = instrs.len() as u32;
                instrs.push(remap(self.instrs[i], |o| map[o as usize]));
                dtypes.push(self.dtypes[i]);
            }
        }
        Program {
            inputs: self.inputs,
            instrs,
            dtypes,
        }
    }
}

/// The operands of an instruction.
pub fn operands(ins: &Instr) -> impl Iterator<Item = u32> {
    let (a, b, c) = match *ins {
        Instr::Input { .. } | Instr::Const { .. } => (None, None, None),
        Instr::Unary { a, .. } | Instr::Cast { a, .. } => (Some(a), None, None),
        Instr::Binary { a, b, .. } | Instr::Compare { a, b, .. } => (Some(a), Some(b), None),
        Instr::Where { c, a, b } => (Some(c), Some(a), Some(b)),
    };
    a.into_iter().chain(b).chain(c)
}

/// The instruction with its operands renamed by `f`.
pub fn remap(ins: Instr, f: impl Fn(u32) -> u32) -> Instr {
    match ins {
        Instr::Input { .. } | Instr::Const { .. } => ins,
        Instr::Unary { f: op, a } => Instr::Unary { f: op, a: f(a) },
        Instr::Cast { to, a } => Instr::Cast { to, a: f(a) },
        Instr::Binary { f: op, a, b } => Instr::Binary {
            f: op,
            a: f(a),
            b: f(b),
        },
        Instr::Compare { f: op, a, b } => Instr::Compare {
            f: op,
            a: f(a),
            b: f(b),
        },
        Instr::Where { c, a, b } => Instr::Where {
            c: f(c),
            a: f(a),
            b: f(b),
        },
    }
}

/// The kind of a Rust scalar operand, for weak promotion (see [`DType::promote_scalar`]).
pub fn scalar_kind(s: Scalar) -> Kind {
    s.dtype().kind()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotes_and_prunes() {
        let p = Program::build(vec![DType::I32, DType::F32], |b, x| {
            let unused = b.unary(UnaryOp::Exp, x[0])?;
            let _ = unused;
            b.binary(BinaryOp::Add, x[0], x[1])
        })
        .unwrap();
        assert_eq!(p.output_dtype(), DType::F64);
        assert_eq!(p.to_string(), "f64(x0) + f64(x1)");
        assert_eq!(p.instrs().len(), 5);
    }

    #[test]
    fn rejects_bad_types() {
        let mut b = ProgramBuilder::new(vec![DType::F64, DType::Bool]);
        let x = b.input(0);
        let y = b.input(1);
        assert!(b.binary(BinaryOp::And, x, x).is_err());
        assert!(b.binary(BinaryOp::Sub, y, y).is_err());
        assert!(b.unary(UnaryOp::Neg, y).is_err());
    }

    #[test]
    fn new_ops_types_names_and_text() {
        // Float-only math promotes integers like the other transcendental functions.
        for f in [
            UnaryOp::Arcsinh,
            UnaryOp::Arccosh,
            UnaryOp::Arctanh,
            UnaryOp::Exp2,
        ] {
            let p = Program::build(vec![DType::I16], |b, x| b.unary(f, x[0])).unwrap();
            assert_eq!(p.output_dtype(), DType::F32, "{f:?}");
        }
        let p = Program::build(vec![DType::I64], |b, x| b.unary(UnaryOp::Trunc, x[0])).unwrap();
        assert_eq!(p.output_dtype(), DType::I64);
        for dt in [DType::Bool, DType::U8, DType::F32] {
            let p = Program::build(vec![dt], |b, x| b.unary(UnaryOp::Signbit, x[0])).unwrap();
            assert_eq!(p.output_dtype(), DType::Bool);
            assert_eq!(p.to_string(), "signbit(x0)");
        }
        for f in [
            BinaryOp::Copysign,
            BinaryOp::Hypot,
            BinaryOp::Logaddexp,
            BinaryOp::Nextafter,
        ] {
            let p = Program::build(vec![DType::I32, DType::F32], |b, x| b.binary(f, x[0], x[1]))
                .unwrap();
            assert_eq!(p.output_dtype(), DType::F64, "{f:?}");
        }
        let p = Program::build(vec![DType::I8, DType::I8], |b, x| {
            let l = b.binary(BinaryOp::Shl, x[0], x[1])?;
            b.binary(BinaryOp::Shr, l, x[1])
        })
        .unwrap();
        assert_eq!(p.output_dtype(), DType::I8);
        assert_eq!(p.to_string(), "(x0 << x1) >> x1");
        let p = Program::build(vec![DType::F64, DType::F64], |b, x| {
            b.binary(BinaryOp::Logaddexp, x[0], x[1])
        })
        .unwrap();
        assert_eq!(p.to_string(), "logaddexp(x0, x1)");
        // Shifts take integers only (bool, floats and u64 with a signed type are refused).
        for (x, y) in [
            (DType::F64, DType::I64),
            (DType::Bool, DType::Bool),
            (DType::U64, DType::I64),
        ] {
            let e = Program::build(vec![x, y], |b, i| b.binary(BinaryOp::Shl, i[0], i[1]));
            assert!(matches!(e, Err(IrError::UnsupportedDType(_))), "{x} << {y}");
        }
        // The serde names (what graph files and the Python bindings use).
        let un = [
            (UnaryOp::Exp2, "exp2"),
            (UnaryOp::Arcsinh, "arcsinh"),
            (UnaryOp::Arccosh, "arccosh"),
            (UnaryOp::Arctanh, "arctanh"),
            (UnaryOp::Trunc, "trunc"),
            (UnaryOp::Signbit, "signbit"),
        ];
        for (op, name) in un {
            assert_eq!(serde_json::to_string(&op).unwrap(), format!("\"{name}\""));
        }
        let bin = [
            (BinaryOp::Copysign, "copysign"),
            (BinaryOp::Hypot, "hypot"),
            (BinaryOp::Logaddexp, "logaddexp"),
            (BinaryOp::Nextafter, "nextafter"),
            (BinaryOp::Shl, "shl"),
            (BinaryOp::Shr, "shr"),
        ];
        for (op, name) in bin {
            assert_eq!(serde_json::to_string(&op).unwrap(), format!("\"{name}\""));
            let p = Program::build(vec![DType::I32, DType::I32], |b, x| {
                b.binary(op, x[0], x[1])
            })
            .unwrap();
            let q: Program = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
            assert_eq!(p, q);
        }
    }

    #[test]
    fn serde_round_trip_checks_types() {
        let p = Program::build(vec![DType::U8], |b, x| b.unary(UnaryOp::Sqrt, x[0])).unwrap();
        let s = serde_json::to_string(&p).unwrap();
        let q: Program = serde_json::from_str(&s).unwrap();
        assert_eq!(p, q);
        let bad =
            r#"{"inputs":["u8"],"instrs":[{"op":"input","i":0},{"op":"unary","f":"sqrt","a":0}]}"#;
        assert!(serde_json::from_str::<Program>(bad).is_err());
    }
}
