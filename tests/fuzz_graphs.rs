//! A bounded, deterministic mutation campaign over graph files (issue 15, item 6:
//! "fuzzing that stays").
//!
//! Seed graphs covering every serializable node kind are built in code and written with
//! [`serial::to_json`]; each mutant is a seed with a few structural mutations of its JSON
//! value (boundary numbers, swapped / duplicated / dropped array elements, other valid or
//! invalid strings, node references pointed elsewhere, deleted or added keys) and byte-level
//! mutations of its text, drawn from a fixed-seed RNG: the same seed gives the same mutants.
//!
//! Every mutant is read with [`serial::from_json`]; a refusal must be an `Err`, never a
//! panic. An accepted graph goes through the statistics, the standard optimization and
//! planning; a small one (both plans at most [`MAX_TASKS`] tasks, outputs at most
//! [`MAX_OUTPUT_BYTES`]; sizes checked before anything runs) is computed with and without
//! the passes, under a memory limit, and the two results must be equal bit for bit (NaN
//! equal to NaN) or both errors. A panic anywhere (also a task panic the runtime turns into
//! [`chunkwise::Error::Panicked`]), a disagreement, or a mutant slower than
//! [`SLOW_MUTANT`] is a finding; all findings are collected and reported at the end.
//!
//! Not covered: `read_zarr` nodes (they need a store to open) and delayed tasks
//! (`task` / `from_delayed`: their functions are Rust closures, not serializable).
//!
//! Knobs: `CHUNKWISE_FUZZ_SEED` (RNG seed, default 0x5eed_c0de), `CHUNKWISE_FUZZ_MUTANTS`
//! (total mutants, default 200,000), `CHUNKWISE_FUZZ_VERBOSE=1` (print every finding in
//! full, not only the first of each kind), `CHUNKWISE_FUZZ_ONLY=J` (run mutant J
//! alone with the default panic hook, for a backtrace).
//!
//! Known bugs (findings that match are reported but do not fail the test, so CI stays
//! green and fails only on new ones) are listed in [`KNOWN`].

use chunkwise::compute::{self, ComputeOptions};
use chunkwise::{Array, BinaryOp, CmpOp, DType, Distribution, PassManager, ReduceOp, SliceArg};
use chunkwise::{DynArray, UnaryOp};
use chunkwise_ir::{serial, Node};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most tasks a plan (with or without the passes) may have to be computed.
const MAX_TASKS: u64 = 2_000;
/// The most bytes all outputs together may have to be computed.
const MAX_OUTPUT_BYTES: u64 = 4 << 20;
/// The memory limit of the compute step.
const MEMORY_LIMIT: u64 = 256 << 20;
/// The most tasks planning may make (a bigger graph is refused from an estimate).
const PLAN_MAX_TASKS: u64 = 200_000;
/// A mutant slower than this is a finding ("hang-ish").
const SLOW_MUTANT: Duration = Duration::from_secs(2);
/// A mutant slower than this stops the whole test (it reports the mutant first).
const WATCHDOG: Duration = Duration::from_secs(60);

/// Known bugs: (bug, substring of the panic message, substring of its location). A finding
/// that matches one is reported as known and does not fail the test.
const KNOWN: &[(&str, &str, &str)] = &[];

// ---------------------------------------------------------------- seeds

fn nodes(arrays: &[&Array]) -> Vec<Node> {
    arrays.iter().map(|a| a.node().unwrap().clone()).collect()
}

const UNARY: &[UnaryOp] = &[
    UnaryOp::Neg,
    UnaryOp::Abs,
    UnaryOp::Sign,
    UnaryOp::Square,
    UnaryOp::Exp,
    UnaryOp::Expm1,
    UnaryOp::Log,
    UnaryOp::Log1p,
    UnaryOp::Log2,
    UnaryOp::Log10,
    UnaryOp::Sqrt,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Tan,
    UnaryOp::Arcsin,
    UnaryOp::Arccos,
    UnaryOp::Arctan,
    UnaryOp::Sinh,
    UnaryOp::Cosh,
    UnaryOp::Tanh,
    UnaryOp::Floor,
    UnaryOp::Ceil,
    UnaryOp::Round,
    UnaryOp::Not,
    UnaryOp::IsNan,
    UnaryOp::IsInf,
    UnaryOp::IsFinite,
    UnaryOp::Exp2,
    UnaryOp::Arcsinh,
    UnaryOp::Arccosh,
    UnaryOp::Arctanh,
    UnaryOp::Trunc,
    UnaryOp::Signbit,
];

const BINARY: &[BinaryOp] = &[
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::FloorDiv,
    BinaryOp::Rem,
    BinaryOp::Pow,
    BinaryOp::Minimum,
    BinaryOp::Maximum,
    BinaryOp::And,
    BinaryOp::Or,
    BinaryOp::Xor,
    BinaryOp::Arctan2,
    BinaryOp::Copysign,
    BinaryOp::Hypot,
    BinaryOp::Logaddexp,
    BinaryOp::Nextafter,
    BinaryOp::Shl,
    BinaryOp::Shr,
];

const CMP: &[CmpOp] = &[
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
];

const DTYPES: &[DType] = &DType::ALL;

fn range(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> SliceArg {
    SliceArg::Range { start, stop, step }
}

/// Seed graphs (JSON texts) covering every serializable node kind.
fn seeds() -> Vec<String> {
    let mut out: Vec<Vec<Node>> = Vec::new();
    let f = Array::from_ndarray(
        ndarray::Array2::from_shape_fn((4, 6), |(i, j)| i as f64 * 1.5 - j as f64),
        &[2, 4],
    )
    .unwrap();
    let i = Array::from_ndarray(
        ndarray::Array2::from_shape_fn((4, 6), |(i, j)| i as i64 * 7 - j as i64 * 3),
        &[3, 3],
    )
    .unwrap();
    let i32a = Array::from_ndarray(ndarray::arr1(&[1i32, -2, 3, 0, 5]), &[2]).unwrap();
    let u8a = Array::from_ndarray(ndarray::arr1(&[0u8, 1, 200, 255]), &[3]).unwrap();
    let b = Array::from_ndarray(ndarray::arr1(&[true, false, true]), &[2]).unwrap();
    let f32a = Array::from_ndarray(ndarray::arr1(&[0.5f32, f32::NAN, -1.0]), &[2]).unwrap();
    out.push(nodes(&[&f, &i, &i32a, &u8a, &b, &f32a]));
    // The other integer types, with values at their limits.
    let i8a = Array::from_ndarray(ndarray::arr1(&[-128i8, -1, 0, 127]), &[3]).unwrap();
    let i16a = Array::from_ndarray(ndarray::arr1(&[i16::MIN, -7, 300, i16::MAX]), &[2]).unwrap();
    let u16a = Array::from_ndarray(ndarray::arr1(&[0u16, 1, 40000, u16::MAX]), &[3]).unwrap();
    let u32a = Array::from_ndarray(ndarray::arr1(&[0u32, 7, u32::MAX]), &[2]).unwrap();
    let u64a = Array::from_ndarray(ndarray::arr1(&[0u64, 1 << 63, u64::MAX]), &[2]).unwrap();
    let mixed = (&i8a.slice(&[range(None, Some(3), None)]).unwrap() + &u64a)
        .sum(None, false)
        .unwrap();
    out.push(nodes(&[&i8a, &i16a, &u16a, &u32a, &u64a, &mixed]));
    // Full, random, arange.
    let full_i = Array::full(&[5, 3], &[2, 2], 7i32).unwrap();
    let full_f = Array::full(&[3], &[3], 2.5f64).unwrap();
    let full_b = Array::full(&[2, 2], &[1, 2], true).unwrap();
    let zeros = Array::zeros(&[4], &[3], DType::U8).unwrap();
    out.push(nodes(&[&full_i, &full_f, &full_b, &zeros]));
    let ru = Array::random_uniform(&[8, 6], &[3, 4], 3).unwrap();
    let rn = Array::random_normal(&[10], &[4], 9).unwrap();
    let r32 = Array::random(
        &[5, 5],
        &[5, 2],
        1,
        DType::F32,
        Distribution::Normal {
            mean: 1.0,
            std: 2.0,
        },
    )
    .unwrap();
    out.push(nodes(&[&ru, &rn, &r32]));
    let ar = Array::arange(0.0, 10.0, 0.5, 3).unwrap();
    let ai = Array::arange(10.0, -3.0, -2.0, 2).unwrap();
    out.push(nodes(&[&ar, &ai]));
    // Blockwise programs: unary.
    let us: Vec<Array> = UNARY
        .iter()
        .filter_map(|&op| f.unary(op).ok().or_else(|| b.unary(op).ok()))
        .collect();
    out.push(us.iter().map(|a| a.node().unwrap().clone()).collect());
    let ui: Vec<Array> = UNARY.iter().filter_map(|&op| i.unary(op).ok()).collect();
    out.push(ui.iter().map(|a| a.node().unwrap().clone()).collect());
    // Binary (float, int, bool; broadcasting; scalars).
    let g = Array::from_ndarray(
        ndarray::Array2::from_shape_fn((4, 1), |(i, _)| i as f64 - 1.0),
        &[2, 1],
    )
    .unwrap();
    let bs: Vec<Array> = BINARY
        .iter()
        .filter_map(|&op| f.binary(&g, op).ok())
        .collect();
    out.push(bs.iter().map(|a| a.node().unwrap().clone()).collect());
    let bi: Vec<Array> = BINARY
        .iter()
        .filter_map(|&op| {
            i.binary(
                full_i
                    .slice(&[range(None, Some(4), None), range(Some(0), Some(1), None)])
                    .unwrap()
                    .astype(DType::I64)
                    .unwrap(),
                op,
            )
            .ok()
        })
        .collect();
    out.push(bi.iter().map(|a| a.node().unwrap().clone()).collect());
    let bb: Vec<Array> = BINARY
        .iter()
        .filter_map(|&op| b.binary(true, op).ok())
        .collect();
    out.push(bb.iter().map(|a| a.node().unwrap().clone()).collect());
    let row = ru.slice(&[range(Some(0), Some(1), None)]).unwrap();
    let chain = ((&ru - 0.5) * 2.0).binary(&row, BinaryOp::Pow).unwrap();
    out.push(nodes(&[&chain]));
    // Comparisons, where, casts.
    let cs: Vec<Array> = CMP
        .iter()
        .filter_map(|&op| f.compare(&g, op).ok())
        .collect();
    out.push(cs.iter().map(|a| a.node().unwrap().clone()).collect());
    let w = Array::where_(f.gt(0.0).unwrap(), &f, &g).unwrap();
    let w2 = Array::where_(&b, 1i64, -1i64).unwrap();
    out.push(nodes(&[&w, &w2]));
    let casts: Vec<Array> = DTYPES
        .iter()
        .flat_map(|&d| [f.astype(d).ok(), i.astype(d).ok(), u8a.astype(d).ok()])
        .flatten()
        .collect();
    out.push(casts.iter().map(|a| a.node().unwrap().clone()).collect());
    // Contraction.
    let a1 = Array::random_uniform(&[6, 4], &[4, 2], 5).unwrap();
    let a2 = Array::random_uniform(&[4, 5], &[2, 3], 6).unwrap();
    out.push(nodes(&[&a1.matmul(&a2).unwrap()]));
    let t3 = Array::random_uniform(&[3, 4, 2], &[2, 2, 2], 8).unwrap();
    if let Ok(td) = t3.tensordot(&a1.t().unwrap(), &[1], &[0]) {
        out.push(nodes(&[&td]));
    }
    // Reductions: every op, keepdims, several axes.
    let ops = ReduceOp::EVERY_KIND;
    let axes: [Option<&[isize]>; 4] = [None, Some(&[0]), Some(&[-1]), Some(&[0, 2])];
    for op in ops {
        let mut rs = Vec::new();
        for (k, ax) in axes.iter().enumerate() {
            let arg = matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax);
            if arg && k == 3 {
                continue;
            }
            let r = t3.reduce(op, *ax, k % 2 == 1, 2 + k as u64);
            if let Ok(r) = r {
                rs.push(r.node().unwrap().clone());
            }
        }
        out.push(rs);
    }
    let ri = i.reduce(ReduceOp::Sum, Some(&[1]), true, 2).unwrap();
    let rb = b.any(None, false).unwrap();
    out.push(nodes(&[&ri, &rb]));
    // Slices: steps, negative steps, indices, new axes, ellipsis.
    let sl = [
        vec![range(Some(1), None, Some(2)), range(None, None, Some(-1))],
        vec![SliceArg::Index(-1), range(Some(-5), Some(-1), Some(3))],
        vec![SliceArg::NewAxis, SliceArg::Ellipsis, SliceArg::Index(2)],
        vec![range(Some(3), Some(0), Some(-2)), SliceArg::NewAxis],
        vec![range(Some(10), Some(20), None)],
    ];
    let ss: Vec<Array> = sl.iter().filter_map(|s| f.slice(s).ok()).collect();
    out.push(ss.iter().map(|a| a.node().unwrap().clone()).collect());
    let rs = ru
        .slice(&[range(Some(2), Some(7), None), range(None, None, Some(-2))])
        .unwrap();
    out.push(nodes(&[&rs]));
    // Rechunk, transpose, concatenate, stack.
    let rc = f.rechunk(&[1, 6]).unwrap();
    let rx = ru.rechunk_explicit(&[vec![1, 7], vec![2, 2, 2]]).unwrap();
    let tr = t3.transpose(&[2, 0, 1]).unwrap();
    out.push(nodes(&[&rc, &rx, &tr]));
    let cat = Array::concatenate(
        &[
            f.clone(),
            g.rechunk(&[4, 1])
                .unwrap()
                .binary(&f, BinaryOp::Add)
                .unwrap(),
        ],
        1,
    )
    .unwrap();
    let st = Array::stack(&[f.clone(), (&f * 2.0)], -1).unwrap();
    let st0 = Array::stack(&[ar.clone(), ar.clone()], 0).unwrap();
    out.push(nodes(&[&cat, &st, &st0]));
    // A composite graph, and its optimized form (fused kernels, windowed random).
    let comp = (ru.exp() - 1.0)
        .sum(Some(&[1]), false)
        .unwrap()
        .slice(&[range(Some(1), None, None)])
        .unwrap();
    let win = ru.slice(&[range(Some(1), Some(4), None)]).unwrap().sqrt();
    let base = nodes(&[&comp, &win]);
    let opt = compute::optimize(&base, None).unwrap().outputs;
    out.push(base);
    out.push(opt);
    out.into_iter()
        .filter(|n| !n.is_empty())
        .map(|n| serial::to_json(&n))
        .collect()
}

// ---------------------------------------------------------------- mutator

/// SplitMix64: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, p: u32) -> bool {
        self.below(100) < p as usize
    }
}

fn boundary(rng: &mut Rng, cur: &Value) -> Value {
    let c = cur.as_i64().unwrap_or(0);
    match rng.below(22) {
        0 => 0.into(),
        1 => 1.into(),
        2 => (-1).into(),
        3 => 2.into(),
        4 => (1u64 << 31).into(),
        5 => (1u64 << 32).into(),
        6 => (i64::MAX as u64).into(),
        7 => u64::MAX.into(),
        8 => i64::MIN.into(),
        9 => serde_json::json!(-1e300),
        10 => serde_json::json!(1e300),
        11 => serde_json::json!(0.5),
        12 => serde_json::json!(-0.0),
        13 => (*rng.pick(&["nan", "NaN", "inf", "-inf", "1e999", ""])).into(),
        14 => c.wrapping_add(1).into(),
        15 => c.wrapping_sub(1).into(),
        16 => c.wrapping_mul(2).into(),
        17 => ((1u64 << 31) - 1).into(),
        18 => (u32::MAX as u64).into(),
        19 => Value::Null,
        20 => (rng.below(10) as u64).into(),
        _ => serde_json::json!(f64::MIN_POSITIVE),
    }
}

const INVALID_STRINGS: &[&str] = &[
    "",
    "f16",
    "complex128",
    "aa",
    "a\u{e9}",
    "abcdefghijklmnopqrstuvwxyzabcdefghij",
    "i",
    "ij",
    "ijk",
    "ba",
    "zz",
    "sum ",
    "SUM",
    "nan",
    "inf",
    "-inf",
    "\u{0}",
    "program",
    "contract",
    "named",
];

/// Paths to every value in `v` (indices into arrays and object keys).
#[derive(Clone, Debug)]
enum Step {
    Idx(usize),
    Key(String),
}

fn paths(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match v {
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                here.push(Step::Idx(i));
                paths(x, here, out);
                here.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                here.push(Step::Key(k.clone()));
                paths(x, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Step::Idx(i), Value::Array(xs)) => xs.get_mut(*i)?,
            (Step::Key(k), Value::Object(m)) => m.get_mut(k)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Strings and keys found in the seeds: the "other valid" replacements.
struct Pools {
    strings: Vec<String>,
    keys: Vec<String>,
    values: Vec<Value>,
}

fn collect_pools(v: &Value, p: &mut Pools) {
    match v {
        Value::String(s) if !p.strings.contains(s) => p.strings.push(s.clone()),
        Value::String(_) => {}
        Value::Array(xs) => xs.iter().for_each(|x| collect_pools(x, p)),
        Value::Object(m) => {
            for (k, x) in m {
                if !p.keys.contains(k) {
                    p.keys.push(k.clone());
                }
                if p.values.len() < 400 && !matches!(x, Value::Array(a) if a.len() > 8) {
                    p.values.push(x.clone());
                }
                collect_pools(x, p);
            }
        }
        _ => {}
    }
}

const REF_KEYS: &[&str] = &["input", "inputs", "outputs", "parts", "a", "b", "c", "i"];

/// Node references: (path, node count at that point).
fn ref_paths(v: &Value) -> Vec<Vec<Step>> {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    all.into_iter()
        .filter(|p| {
            p.iter().rev().find_map(|s| match s {
                Step::Key(k) => Some(REF_KEYS.contains(&k.as_str())),
                _ => None,
            }) == Some(true)
        })
        .collect()
}

fn mutate_value(v: &mut Value, rng: &mut Rng, pools: &Pools) {
    let n_nodes = v
        .get("nodes")
        .and_then(|n| n.as_array())
        .map_or(0, |a| a.len());
    // Node references and whole nodes, sometimes.
    match rng.below(10) {
        0 => {
            let refs: Vec<Vec<Step>> = ref_paths(v)
                .into_iter()
                .filter(|p| matches!(at(v, p), Some(Value::Number(_))))
                .collect();
            if !refs.is_empty() {
                let p = rng.pick(&refs).clone();
                let target = match rng.below(4) {
                    0 => n_nodes as u64,
                    1 => u64::MAX,
                    _ => rng.below(n_nodes + 1) as u64,
                };
                *at(v, &p).unwrap() = target.into();
                return;
            }
        }
        1 => {
            if let Some(nodes) = v.get_mut("nodes").and_then(|n| n.as_array_mut()) {
                if !nodes.is_empty() {
                    let k = rng.below(nodes.len());
                    match rng.below(3) {
                        0 => {
                            let n = nodes[k].clone();
                            nodes.push(n);
                        }
                        1 => {
                            let j = rng.below(nodes.len());
                            nodes.swap(k, j);
                        }
                        _ => {
                            nodes.remove(k);
                        }
                    }
                    return;
                }
            }
        }
        _ => {}
    }
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let p = rng.pick(&all).clone();
    let Some(x) = at(v, &p) else { return };
    match x {
        Value::Number(_) => *x = boundary(rng, x),
        Value::String(s) => {
            *x = match rng.below(4) {
                0 | 1 => Value::String(rng.pick(&pools.strings).clone()),
                2 => Value::String((*rng.pick(INVALID_STRINGS)).into()),
                _ => {
                    let mut b = s.clone().into_bytes();
                    if !b.is_empty() {
                        let k = rng.below(b.len());
                        match rng.below(3) {
                            0 => {
                                b.remove(k);
                            }
                            1 => b.insert(k, b"abcijz"[rng.below(6)]),
                            _ => {
                                let j = rng.below(b.len());
                                b.swap(k, j)
                            }
                        }
                    }
                    Value::String(String::from_utf8_lossy(&b).into_owned())
                }
            }
        }
        Value::Bool(b) => *b = !*b,
        Value::Null => *x = 0.into(),
        Value::Array(xs) => {
            let n = xs.len();
            match rng.below(7) {
                0 if n >= 2 => {
                    let (a, b) = (rng.below(n), rng.below(n));
                    xs.swap(a, b);
                }
                1 if n >= 1 => {
                    let k = rng.below(n);
                    let e = xs[k].clone();
                    xs.insert(rng.below(n + 1), e);
                }
                2 if n >= 1 => {
                    xs.remove(rng.below(n));
                }
                3 => xs.clear(),
                4 => xs.reverse(),
                5 => xs.push(rng.pick(&pools.values).clone()),
                _ => *x = boundary(rng, &Value::Null),
            }
        }
        Value::Object(m) => match rng.below(4) {
            0 if !m.is_empty() => {
                let keys: Vec<String> = m.keys().cloned().collect();
                m.remove(rng.pick(&keys));
            }
            1 => {
                m.insert(
                    rng.pick(&pools.keys).clone(),
                    rng.pick(&pools.values).clone(),
                );
            }
            2 if !m.is_empty() => {
                let keys: Vec<String> = m.keys().cloned().collect();
                let k = rng.pick(&keys).clone();
                m.insert(k, rng.pick(&pools.values).clone());
            }
            _ => *x = rng.pick(&pools.values).clone(),
        },
    }
}

fn mutate_bytes(text: &str, rng: &mut Rng) -> String {
    let mut b = text.as_bytes().to_vec();
    if b.is_empty() {
        return String::new();
    }
    let n = b.len();
    let k = rng.below(n);
    match rng.below(7) {
        0 => b[k] ^= 1 << rng.below(8),
        1 => {
            let e = (k + 1 + rng.below(16)).min(n);
            b.drain(k..e);
        }
        2 => b.insert(k, *rng.pick(b"0123456789-.,:[]{}\"e")),
        3 => {
            let e = (k + 1 + rng.below(32)).min(n);
            let piece = b[k..e].to_vec();
            let at = rng.below(n);
            b.splice(at..at, piece);
        }
        4 => b.truncate(k),
        5 => {
            // A digit run replaced by a huge literal (beyond u64, beyond f64).
            if let Some(s) = (k..n).find(|&i| b[i].is_ascii_digit()) {
                let e = (s..n).find(|&i| !b[i].is_ascii_digit()).unwrap_or(n);
                let lits: [&[u8]; 5] = [
                    b"18446744073709551616",
                    b"99999999999999999999999999",
                    b"1e400",
                    b"-9223372036854775809",
                    b"4294967296",
                ];
                let lit = *rng.pick(&lits);
                b.splice(s..e, lit.iter().copied());
            }
        }
        _ => b[k] = rng.below(256) as u8,
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn mutant(seed: &Value, rng: &mut Rng, pools: &Pools) -> String {
    let mut v = seed.clone();
    let structural = match rng.below(10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    for _ in 0..structural {
        mutate_value(&mut v, rng, pools);
    }
    let mut text = if rng.chance(50) {
        serde_json::to_string(&v).unwrap()
    } else {
        serde_json::to_string_pretty(&v).unwrap()
    };
    if rng.chance(10) {
        for _ in 0..1 + rng.below(2) {
            text = mutate_bytes(&text, rng);
        }
    }
    text
}

// ---------------------------------------------------------------- oracle

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Refused,
    Accepted,
    Computed,
}

fn bits(a: &DynArray) -> (Vec<usize>, Vec<u64>) {
    let shape = a.shape().to_vec();
    let v = chunkwise_ir::with_array!(a, x => x
        .iter()
        .map(|&v| {
            let s = chunkwise_ir::Element::to_scalar(v);
            if s.as_f64().is_nan() {
                u64::MAX
            } else {
                s.hash_bits()
            }
        })
        .collect());
    (shape, v)
}

fn output_bytes(nodes: &[Node]) -> Option<u64> {
    let mut total: u64 = 0;
    for n in nodes {
        let mut e: u64 = n.dtype().size() as u64;
        for s in n.shape() {
            e = e.checked_mul(s)?;
        }
        total = total.checked_add(e)?;
    }
    Some(total)
}

/// Runs one mutant through the pipeline; `Err` is a finding (not a panic).
fn check(text: &str) -> Result<Outcome, String> {
    let Ok(nodes) = serial::from_json(text) else {
        return Ok(Outcome::Refused);
    };
    let _ = chunkwise_passes::stats::stats(&nodes);
    let _ = compute::optimize(&nodes, None);
    let none = PassManager::none();
    let plan = |passes: Option<&PassManager>| {
        compute::plan_with(
            &nodes,
            &ComputeOptions {
                passes,
                max_tasks: Some(PLAN_MAX_TASKS),
                ..ComputeOptions::default()
            },
        )
    };
    let (Ok(g1), Ok(g2)) = (plan(None), plan(Some(&none))) else {
        return Ok(Outcome::Accepted);
    };
    let small = g1.len() as u64 <= MAX_TASKS
        && g2.len() as u64 <= MAX_TASKS
        && output_bytes(&nodes).is_some_and(|b| b <= MAX_OUTPUT_BYTES);
    if !small {
        return Ok(Outcome::Accepted);
    }
    let run = |passes: Option<&PassManager>| {
        compute::compute_nodes(
            &nodes,
            &ComputeOptions {
                passes,
                threads: 1,
                memory_limit: Some(MEMORY_LIMIT),
                max_tasks: Some(MAX_TASKS),
                ..ComputeOptions::default()
            },
        )
    };
    let with = run(None);
    let without = run(Some(&none));
    for r in [&with, &without] {
        if let Err(e @ chunkwise::Error::Panicked { .. }) = r {
            return Err(format!("task panic: {e}"));
        }
    }
    match (&with, &without) {
        (Ok(a), Ok(b)) => {
            if a.len() != b.len() {
                return Err(format!(
                    "{} outputs with passes, {} without",
                    a.len(),
                    b.len()
                ));
            }
            for (k, (x, y)) in a.iter().zip(b).enumerate() {
                if x.dtype() != y.dtype() || bits(x) != bits(y) {
                    return Err(format!(
                        "output {k} differs with and without passes:\n  with:    {x:?}\n  without: {y:?}"
                    ));
                }
            }
            Ok(Outcome::Computed)
        }
        (Err(_), Err(_)) => Ok(Outcome::Computed),
        (Err(chunkwise::Error::MemoryLimit { .. }), Ok(_))
        | (Ok(_), Err(chunkwise::Error::MemoryLimit { .. })) => Ok(Outcome::Accepted),
        (Ok(_), Err(e)) => Err(format!("fails only without passes: {e}")),
        (Err(e), Ok(_)) => Err(format!("fails only with passes: {e}")),
    }
}

// ---------------------------------------------------------------- campaign

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

struct Finding {
    index: usize,
    kind: String,
    text: String,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| {
            let s = s.trim();
            s.strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
        })
        .unwrap_or(default)
}

#[test]
fn mutated_graph_files_never_panic_and_passes_keep_results() {
    let seed = env_u64("CHUNKWISE_FUZZ_SEED", 0x5eed_c0de);
    let total = env_u64("CHUNKWISE_FUZZ_MUTANTS", 200_000) as usize;
    let verbose = std::env::var("CHUNKWISE_FUZZ_VERBOSE").is_ok_and(|v| v == "1");
    let seeds = seeds();
    let values: Vec<Value> = seeds
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let mut pools = Pools {
        strings: Vec::new(),
        keys: Vec::new(),
        values: Vec::new(),
    };
    for v in &values {
        collect_pools(v, &mut pools);
    }
    // The seeds themselves round-trip and compute.
    for (k, s) in seeds.iter().enumerate() {
        assert_eq!(
            check(s).map_err(|e| format!("seed {k}: {e}")),
            Ok(Outcome::Computed),
            "seed {k}"
        );
    }
    // Mutants: deterministic from the seed (mutant j from its own RNG stream).
    let make = |j: usize| {
        let mut rng = Rng(seed ^ (j as u64).wrapping_mul(0xa076_1d64_78bd_642f));
        rng.next();
        let v = rng.pick(&values);
        mutant(v, &mut rng, &pools)
    };

    // Reproduce one mutant with the default panic hook (a backtrace names the caller).
    if let Ok(j) = std::env::var("CHUNKWISE_FUZZ_ONLY") {
        let j: usize = j.parse().unwrap();
        let m = make(j);
        eprintln!("{m}");
        eprintln!("{:?}", check(&m));
        return;
    }
    let prev_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<non-string panic>".into());
        let mut loc = info
            .location()
            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
        // A panic inside std or a dependency: name the first frame in this workspace.
        if loc.starts_with("/rustc/") || loc.contains("/.cargo/") {
            let bt = std::backtrace::Backtrace::force_capture().to_string();
            if let Some(l) = bt
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("at ./") && !l.contains("tests/fuzz_graphs.rs"))
            {
                loc = format!("{} (via {loc})", &l[5..]);
            }
        }
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg} at {loc}")));
    }));

    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let counts = [0, 1, 2].map(|_| AtomicUsize::new(0));
    let findings: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let current: Vec<Mutex<Option<(usize, Instant, String)>>> =
        (0..workers).map(|_| Mutex::new(None)).collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|sc| {
        // Watchdog: a mutant stuck far past the slow limit stops the test, naming it.
        sc.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                for c in &current {
                    if let Some((j, t, m)) = &*c.lock().unwrap() {
                        if t.elapsed() > WATCHDOG {
                            eprintln!("fuzz_graphs: mutant {j} (seed {seed:#x}) ran over {WATCHDOG:?}:\n{m}");
                            std::process::exit(2);
                        }
                    }
                }
            }
        });
        let mut hs = Vec::new();
        for w in 0..workers {
            let (next, counts, findings, make, current) =
                (&next, &counts, &findings, &make, &current);
            hs.push(sc.spawn(move || loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                if j >= total {
                    break;
                }
                let text = make(j);
                *current[w].lock().unwrap() = Some((j, Instant::now(), text.clone()));
                let t = Instant::now();
                let r = catch_unwind(AssertUnwindSafe(|| check(&text)));
                let el = t.elapsed();
                *current[w].lock().unwrap() = None;
                let add = |kind: String| {
                    findings.lock().unwrap().push(Finding {
                        index: j,
                        kind,
                        text: text.clone(),
                    })
                };
                match r {
                    Ok(Ok(o)) => {
                        counts[o as usize].fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => add(e),
                    Err(_) => {
                        let m = LAST_PANIC
                            .with(|p| p.borrow_mut().take())
                            .unwrap_or_default();
                        add(format!("panic: {m}"));
                    }
                }
                if el > SLOW_MUTANT {
                    add(format!("hang-ish: took {el:?}"));
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    std::panic::set_hook(prev_hook);
    let elapsed = start.elapsed();

    let mut findings = findings.into_inner().unwrap();
    findings.sort_by_key(|f| f.index);
    let mut new = 0;
    let mut seen: Vec<String> = Vec::new();
    for f in &findings {
        let known = KNOWN
            .iter()
            .find(|(_, msg, loc)| f.kind.contains(msg) && f.kind.contains(loc));
        // Group by the first line (message and location), not by the mutant.
        let head = f.kind.lines().next().unwrap_or("").to_string();
        let first = !seen.contains(&head);
        if first {
            seen.push(head.clone());
        }
        if known.is_none() {
            new += 1;
        }
        if first || verbose {
            let tag = known.map_or("NEW".to_string(), |(bug, _, _)| format!("known: {bug}"));
            eprintln!(
                "fuzz_graphs finding [{tag}] mutant {} (seed {seed:#x}): {}\n{}\n",
                f.index, f.kind, f.text
            );
        }
    }
    let refused = counts[Outcome::Refused as usize].load(Ordering::Relaxed);
    let accepted = counts[Outcome::Accepted as usize].load(Ordering::Relaxed);
    let computed = counts[Outcome::Computed as usize].load(Ordering::Relaxed);
    eprintln!(
        "fuzz_graphs summary: seed {seed:#x}, {} seeds, {total} mutants run, {refused} refused, {} accepted ({computed} computed with and without passes), {} findings ({new} new, {} distinct), {:.1} s on {workers} workers",
        seeds.len(),
        accepted + computed,
        findings.len(),
        seen.len(),
        elapsed.as_secs_f64()
    );
    assert_eq!(new, 0, "{new} new findings (see above)");
}
