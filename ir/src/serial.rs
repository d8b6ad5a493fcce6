//! The versioned JSON form of a layer graph.
//!
//! ```json
//! {"format": "chunkwise-graph", "version": 1,
//!  "nodes": [
//!    {"op": "random", "dtype": "f64", "shape": [1000], "chunks": [100], "seed": 1,
//!     "dist": {"kind": "uniform", "low": 0.0, "high": 1.0}},
//!    {"op": "blockwise", "out_ind": "i", "inputs": [[0, "i"]], "new_axes": [],
//!     "kernel": {"program": {"inputs": ["f64"], "instrs": [{"op": "input", "i": 0}, {"op": "unary", "f": "exp", "a": 0}]}}},
//!    {"op": "reduction", "input": 1, "reduce": {"op": "sum"}, "axes": [0], "keepdims": false, "split_every": 4}
//!  ],
//!  "outputs": [2]}
//! ```
//!
//! Nodes refer to earlier nodes by position, so a file always describes a DAG. Chunks per
//! axis are a chunk size (`100`: regular), a list of lengths (`[30, 70]`) or
//! `{"first": 5, "chunk": 100}`. Every node is rebuilt through the validating constructors,
//! so a malformed file gives an [`IrError`] naming the node and the problem. Named kernels
//! are written by name and must be registered before loading.

use crate::array::DynArray;
use crate::dtype::{DType, Scalar};
use crate::error::IrError;
use crate::grid::{checked_product, checked_sum, AxisChunks, ChunkGrid};
use crate::kernel::lookup_kernel;
use crate::layer::{topo_order, Blockwise, Distribution, Kernel, Layer, Node, ReduceOp, Window};
use crate::program::Program;
use crate::slice::SliceItem;
use crate::stored::{StoreError, StoreErrorKind, Stored};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// The current format version.
pub const VERSION: u32 = 1;
const FORMAT: &str = "chunkwise-graph";

#[derive(Serialize, Deserialize)]
struct GraphFile {
    format: String,
    version: u32,
    nodes: Vec<NodeDef>,
    outputs: Vec<usize>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
enum AxisDef {
    Size(u64),
    Lengths(Vec<u64>),
    Offset { first: u64, chunk: u64 },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum KernelDef {
    Program(Program),
    Contract,
    Named { name: String },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum NodeDef {
    FromArray {
        dtype: DType,
        shape: Vec<u64>,
        chunks: Vec<AxisDef>,
        data: Vec<Value>,
    },
    Full {
        dtype: DType,
        shape: Vec<u64>,
        chunks: Vec<AxisDef>,
        value: Value,
    },
    Random {
        dtype: DType,
        shape: Vec<u64>,
        chunks: Vec<AxisDef>,
        seed: u64,
        dist: Distribution,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<Window>,
    },
    Arange {
        dtype: DType,
        shape: Vec<u64>,
        chunks: Vec<AxisDef>,
        start: f64,
        step: f64,
    },
    /// A stored array, by location; reopened when the file is read.
    ReadZarr {
        path: String,
        dtype: DType,
        shape: Vec<u64>,
        chunks: Vec<AxisDef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<Window>,
    },
    Blockwise {
        out_ind: String,
        inputs: Vec<(usize, String)>,
        #[serde(default)]
        new_axes: Vec<(String, u64)>,
        kernel: KernelDef,
    },
    Reduction {
        input: usize,
        reduce: ReduceOp,
        axes: Vec<usize>,
        keepdims: bool,
        split_every: u64,
    },
    Slice {
        input: usize,
        items: Vec<SliceItem>,
    },
    Rechunk {
        input: usize,
        chunks: Vec<AxisDef>,
    },
    Transpose {
        input: usize,
        perm: Vec<usize>,
    },
    Concatenate {
        inputs: Vec<usize>,
        axis: usize,
    },
    Inline {
        input: usize,
    },
    /// A delayed task: written for inspection (name and key), it cannot be read back (its
    /// function is Rust code).
    Task {
        name: String,
    },
    FromDelayed {
        dtype: DType,
        shape: Vec<u64>,
        chunks: Vec<AxisDef>,
        parts: Vec<usize>,
    },
}

fn axis_def(a: &AxisChunks) -> AxisDef {
    match *a {
        AxisChunks::Uniform { len, chunk, first } => {
            if first == chunk || len <= first {
                AxisDef::Size(chunk)
            } else {
                AxisDef::Offset { first, chunk }
            }
        }
        AxisChunks::Explicit { .. } => AxisDef::Lengths(a.lengths()),
    }
}

fn grid_def(g: &ChunkGrid) -> Vec<AxisDef> {
    g.axes().iter().map(axis_def).collect()
}

fn grid_from(shape: &[u64], defs: &[AxisDef]) -> Result<ChunkGrid, IrError> {
    if shape.len() != defs.len() {
        return Err(IrError::InvalidChunks(format!(
            "{} chunk entries for shape {shape:?}",
            defs.len()
        )));
    }
    let mut axes = Vec::with_capacity(shape.len());
    for (ax, (&len, d)) in shape.iter().zip(defs).enumerate() {
        axes.push(match d {
            AxisDef::Size(c) => AxisChunks::regular(len, *c)?,
            AxisDef::Lengths(l) => {
                let Some(total) = checked_sum(l) else {
                    return Err(IrError::InvalidChunks(format!(
                        "chunks of axis {ax} add up to more than 2^64 - 1 elements (overflow), \
                         not to its length {len}"
                    )));
                };
                if total != len {
                    return Err(IrError::InvalidChunks(format!(
                        "chunks of axis {ax} do not add up to its length {len}"
                    )));
                }
                AxisChunks::try_from_lengths(l)?
            }
            AxisDef::Offset { first, chunk } => AxisChunks::uniform(len, *chunk, *first)
                .map_err(|e| IrError::InvalidChunks(format!("axis {ax}: {e}")))?,
        });
    }
    Ok(ChunkGrid::new(axes))
}

fn syms(s: &str) -> Result<Vec<u8>, IrError> {
    if !s.is_ascii() {
        return Err(IrError::MalformedGraph(format!(
            "index notation {s:?} must be ASCII letters"
        )));
    }
    Ok(s.as_bytes().to_vec())
}

fn scalar_json(s: Scalar) -> Value {
    match s {
        Scalar::Bool(v) => Value::Bool(v),
        Scalar::U64(v) => v.into(),
        Scalar::F32(v) => float_json(v as f64),
        Scalar::F64(v) => float_json(v),
        Scalar::C64(_) | Scalar::C128(_) => {
            let c = s.as_complex();
            Value::Array(vec![float_json(c.re), float_json(c.im)])
        }
        int => int.as_i64().into(),
    }
}

fn float_json(v: f64) -> Value {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

fn scalar_from_json(v: &Value, dtype: DType) -> Result<Scalar, IrError> {
    let bad = || IrError::MalformedGraph(format!("{v} is not a valid {dtype} value"));
    let s = match (v, dtype) {
        (Value::Array(parts), DType::C64 | DType::C128) => match parts.as_slice() {
            [re, im] => {
                let re = scalar_from_json(re, DType::F64)?.as_f64();
                let im = scalar_from_json(im, DType::F64)?.as_f64();
                Scalar::C128(crate::Complex64::new(re, im))
            }
            _ => return Err(bad()),
        },
        (Value::Bool(b), DType::Bool) => Scalar::Bool(*b),
        (Value::Number(n), DType::F32 | DType::F64) => Scalar::F64(n.as_f64().ok_or_else(bad)?),
        (Value::String(s), DType::F32 | DType::F64) => Scalar::F64(match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => return Err(bad()),
        }),
        (Value::Number(n), DType::U64) => Scalar::U64(n.as_u64().ok_or_else(bad)?),
        (Value::Number(n), _) => {
            let i = n.as_i64().ok_or_else(bad)?;
            let s = Scalar::I64(i);
            if s.cast(dtype).as_i64() != i {
                return Err(bad());
            }
            s
        }
        _ => return Err(bad()),
    };
    Ok(s.cast(dtype))
}

/// Writes the graph of `outputs` as versioned JSON.
pub fn to_json(outputs: &[Node]) -> String {
    let order = topo_order(outputs);
    let mut index: FxHashMap<u64, usize> = FxHashMap::default();
    let mut nodes = Vec::with_capacity(order.len());
    for n in &order {
        let r = |m: &Node| index[&m.id()];
        let def = match n.layer() {
            Layer::FromArray { data } => NodeDef::FromArray {
                dtype: n.dtype(),
                shape: n.shape(),
                chunks: grid_def(n.chunks()),
                data: crate::with_array!(data, a => a.iter().map(|v| scalar_json(crate::Element::to_scalar(*v))).collect()),
            },
            Layer::Full { value } => NodeDef::Full {
                dtype: n.dtype(),
                shape: n.shape(),
                chunks: grid_def(n.chunks()),
                value: scalar_json(*value),
            },
            Layer::Random { seed, dist, window } => NodeDef::Random {
                dtype: n.dtype(),
                shape: n.shape(),
                chunks: grid_def(n.chunks()),
                seed: *seed,
                dist: *dist,
                window: window.clone(),
            },
            Layer::Arange { start, step } => NodeDef::Arange {
                dtype: n.dtype(),
                shape: n.shape(),
                chunks: grid_def(n.chunks()),
                start: *start,
                step: *step,
            },
            Layer::Read { source, window } => NodeDef::ReadZarr {
                path: source.location.clone(),
                dtype: n.dtype(),
                shape: n.shape(),
                chunks: grid_def(n.chunks()),
                window: window.clone(),
            },
            Layer::Blockwise(b) => NodeDef::Blockwise {
                out_ind: String::from_utf8_lossy(&b.out_ind).into(),
                inputs: b
                    .inputs
                    .iter()
                    .map(|(m, ind)| (r(m), String::from_utf8_lossy(ind).into()))
                    .collect(),
                new_axes: b
                    .new_axes
                    .iter()
                    .map(|(s, l)| ((*s as char).to_string(), *l))
                    .collect(),
                kernel: match &b.kernel {
                    Kernel::Program(p) => KernelDef::Program((**p).clone()),
                    Kernel::Contract => KernelDef::Contract,
                    Kernel::Named(k) => KernelDef::Named {
                        name: k.name.clone(),
                    },
                },
            },
            Layer::Reduction(red) => NodeDef::Reduction {
                input: r(&red.input),
                reduce: red.op,
                axes: red.axes.clone(),
                keepdims: red.keepdims,
                split_every: red.split_every,
            },
            Layer::Slice { input, items } => NodeDef::Slice {
                input: r(input),
                items: items.clone(),
            },
            Layer::Rechunk { input } => NodeDef::Rechunk {
                input: r(input),
                chunks: grid_def(n.chunks()),
            },
            Layer::Transpose { input, perm } => NodeDef::Transpose {
                input: r(input),
                perm: perm.clone(),
            },
            Layer::Concatenate { inputs, axis } => NodeDef::Concatenate {
                inputs: inputs.iter().map(r).collect(),
                axis: *axis,
            },
            Layer::Inline { input } => NodeDef::Inline { input: r(input) },
            Layer::Task(t) => NodeDef::Task { name: t.label() },
            Layer::FromDelayed { parts } => NodeDef::FromDelayed {
                dtype: n.dtype(),
                shape: n.shape(),
                chunks: grid_def(n.chunks()),
                parts: parts.iter().map(r).collect(),
            },
        };
        index.insert(n.id(), nodes.len());
        nodes.push(def);
    }
    let file = GraphFile {
        format: FORMAT.into(),
        version: VERSION,
        outputs: outputs.iter().map(|o| index[&o.id()]).collect(),
        nodes,
    };
    serde_json::to_string_pretty(&file).expect("graph files serialize")
}

/// Reads a graph written by [`to_json`] (or by another front-end); returns its outputs.
///
/// ```
/// use chunkwise_ir::{serial, ChunkGrid, DType, Node, Scalar};
/// let x = Node::full(ChunkGrid::regular(&[10], &[5]).unwrap(), DType::I32, Scalar::I32(7)).unwrap();
/// let back = serial::from_json(&serial::to_json(&[x.clone()])).unwrap();
/// assert_eq!(back[0].id(), x.id());
/// assert!(serial::from_json("{}").is_err());
/// ```
pub fn from_json(text: &str) -> Result<Vec<Node>, IrError> {
    from_json_with(text, &|path: &str| {
        Err(StoreError::new(
            StoreErrorKind::Missing,
            path,
            "this reader opens no stored arrays (use from_json_with with an opener)",
        ))
    })
}

/// Reads a graph written by [`to_json`], opening each stored array (`read_zarr` node) by its
/// path with `open`. A stored array whose shape or dtype is not the one recorded is an
/// error naming the node.
pub fn from_json_with(text: &str, open: &Opener<'_>) -> Result<Vec<Node>, IrError> {
    let file: GraphFile =
        serde_json::from_str(text).map_err(|e| IrError::MalformedGraph(e.to_string()))?;
    if file.format != FORMAT {
        return Err(IrError::MalformedGraph(format!(
            "format is {:?}, expected {FORMAT:?}",
            file.format
        )));
    }
    if file.version != VERSION {
        return Err(IrError::MalformedGraph(format!(
            "version {} is not supported (this build reads version {VERSION})",
            file.version
        )));
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(file.nodes.len());
    for (i, def) in file.nodes.into_iter().enumerate() {
        let node = build(def, &nodes, open).map_err(|e| match e {
            IrError::MalformedGraph(m) => IrError::MalformedGraph(format!("node {i}: {m}")),
            other => IrError::MalformedGraph(format!("node {i}: {other}")),
        })?;
        nodes.push(node);
    }
    file.outputs
        .iter()
        .map(|&o| {
            nodes.get(o).cloned().ok_or_else(|| {
                IrError::MalformedGraph(format!("output {o} is not a node of the graph"))
            })
        })
        .collect()
}

/// Opens a stored array by its path (see [`from_json_with`]).
pub type Opener<'a> = dyn Fn(&str) -> Result<Stored, StoreError> + 'a;

fn build(def: NodeDef, prev: &[Node], open: &Opener<'_>) -> Result<Node, IrError> {
    let get = |i: usize| {
        prev.get(i).cloned().ok_or_else(|| {
            IrError::MalformedGraph(format!(
                "refers to node {i}, which is not defined before it"
            ))
        })
    };
    match def {
        NodeDef::FromArray {
            dtype,
            shape,
            chunks,
            data,
        } => {
            let grid = grid_from(&shape, &chunks)?;
            let n = checked_product(&shape).ok_or_else(|| {
                IrError::MalformedGraph(format!(
                    "from_array shape {shape:?} has more than 2^64 - 1 elements (overflow)"
                ))
            })?;
            if data.len() as u64 != n {
                return Err(IrError::MalformedGraph(format!(
                    "from_array has {} values for shape {shape:?}",
                    data.len()
                )));
            }
            let dims: Vec<usize> = shape.iter().map(|&s| s as usize).collect();
            let arr = crate::with_dtype!(dtype, T => {
                let vals = data
                    .iter()
                    .map(|v| scalar_from_json(v, dtype).map(<T as crate::Element>::from_scalar))
                    .collect::<Result<Vec<T>, _>>()?;
                DynArray::new(
                    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&dims), vals)
                        .map_err(|e| IrError::MalformedGraph(e.to_string()))?,
                )
            });
            Node::from_array(arr, grid)
        }
        NodeDef::Full {
            dtype,
            shape,
            chunks,
            value,
        } => Node::full(
            grid_from(&shape, &chunks)?,
            dtype,
            scalar_from_json(&value, dtype)?,
        ),
        NodeDef::Random {
            dtype,
            shape,
            chunks,
            seed,
            dist,
            window,
        } => {
            let grid = grid_from(&shape, &chunks)?;
            match window {
                None => Node::random(grid, dtype, seed, dist),
                Some(w) => Node::random_window(grid, dtype, seed, dist, w),
            }
        }
        NodeDef::Arange {
            dtype,
            shape,
            chunks,
            start,
            step,
        } => Node::arange(grid_from(&shape, &chunks)?, dtype, start, step),
        NodeDef::ReadZarr {
            path,
            dtype,
            shape,
            chunks,
            window,
        } => {
            let source = open(&path)?;
            if source.dtype != dtype {
                return Err(IrError::MalformedGraph(format!(
                    "{path} holds {}, the graph recorded {dtype}",
                    source.dtype
                )));
            }
            let read = Node::read(grid_from(&shape, &chunks)?, source, window)?;
            Ok(read)
        }
        NodeDef::Blockwise {
            out_ind,
            inputs,
            new_axes,
            kernel,
        } => {
            let inputs = inputs
                .into_iter()
                .map(|(i, ind)| Ok((get(i)?, syms(&ind)?)))
                .collect::<Result<Vec<_>, IrError>>()?;
            let new_axes = new_axes
                .into_iter()
                .map(|(s, l)| match s.as_bytes() {
                    [c] => Ok((*c, l)),
                    _ => Err(IrError::MalformedGraph(format!(
                        "new axis name {s:?} must be one ASCII letter"
                    ))),
                })
                .collect::<Result<Vec<_>, IrError>>()?;
            let kernel = match kernel {
                KernelDef::Program(p) => Kernel::Program(Arc::new(p)),
                KernelDef::Contract => Kernel::Contract,
                KernelDef::Named { name } => {
                    Kernel::Named(lookup_kernel(&name).ok_or(IrError::UnknownKernel(name))?)
                }
            };
            Node::blockwise(Blockwise {
                out_ind: syms(&out_ind)?,
                inputs,
                new_axes,
                kernel,
            })
        }
        NodeDef::Reduction {
            input,
            reduce,
            axes,
            keepdims,
            split_every,
        } => Node::reduction(get(input)?, reduce, &axes, keepdims, split_every),
        NodeDef::Slice { input, items } => Node::slice(get(input)?, items),
        NodeDef::Rechunk { input, chunks } => {
            let x = get(input)?;
            let grid = grid_from(&x.shape(), &chunks)?;
            Node::rechunk(x, grid)
        }
        NodeDef::Transpose { input, perm } => Node::transpose(get(input)?, perm),
        NodeDef::Concatenate { inputs, axis } => {
            Node::concatenate(inputs.into_iter().map(get).collect::<Result<_, _>>()?, axis)
        }
        NodeDef::Inline { input } => Node::inline(get(input)?),
        NodeDef::Task { name } => Err(IrError::MalformedGraph(format!(
            "delayed task {name} is Rust code and cannot be read from a graph file"
        ))),
        NodeDef::FromDelayed {
            dtype,
            shape,
            chunks,
            parts,
        } => Node::from_delayed(
            parts.into_iter().map(get).collect::<Result<_, _>>()?,
            grid_from(&shape, &chunks)?,
            dtype,
        ),
    }
}
