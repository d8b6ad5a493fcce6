//! Human-readable dumps of layer graphs and task graphs: text and Graphviz DOT.

use crate::layer::{topo_order, Kernel, Layer, Node};
use crate::task::TaskGraph;
use rustc_hash::FxHashMap;
use std::fmt::Write;

fn detail(n: &Node) -> String {
    match n.layer() {
        Layer::FromArray { .. } | Layer::Full { .. } | Layer::Rechunk { .. } => String::new(),
        Layer::Random { seed, dist, window } => {
            let w = window.as_ref().map_or(String::new(), |w| {
                format!(" window={}{:?}", items_text(&w.items), w.base)
            });
            format!(" seed={seed} {dist:?}{w}")
        }
        Layer::Read { source, window } => {
            let w = window.as_ref().map_or(String::new(), |w| {
                format!(" window={}{:?}", items_text(&w.items), w.base)
            });
            format!(" {} ({}){w}", source.location, source.format)
        }
        Layer::Inline { .. } | Layer::FromDelayed { .. } => String::new(),
        Layer::Task(t) => {
            let values = t
                .args
                .iter()
                .filter(|a| matches!(a, crate::delayed::TaskArg::Value(_)))
                .count();
            if values == 0 {
                String::new()
            } else {
                format!(" +{values} values")
            }
        }
        Layer::Arange { start, step } => format!(" start={start} step={step}"),
        Layer::Blockwise(b) => {
            let ins: Vec<String> = b
                .inputs
                .iter()
                .map(|(_, ind)| String::from_utf8_lossy(ind).into_owned())
                .collect();
            let k = match &b.kernel {
                Kernel::Program(p) => format!(" {{{p}}}"),
                Kernel::Contract => String::new(),
                Kernel::Named(k) => format!(" kernel={}", k.name),
            };
            format!(
                " {}<-{}{k}",
                String::from_utf8_lossy(&b.out_ind),
                ins.join(",")
            )
        }
        Layer::Reduction(r) => format!(
            " axes={:?} keepdims={} split_every={}",
            r.axes, r.keepdims, r.split_every
        ),
        Layer::Slice { items, .. } => format!(" {}", items_text(items)),
        Layer::Transpose { perm, .. } => format!(" perm={perm:?}"),
        Layer::Concatenate { axis, .. } => format!(" axis={axis}"),
    }
}

/// `[start:+count:step, index, new]`.
fn items_text(items: &[crate::slice::SliceItem]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|i| match *i {
            crate::slice::SliceItem::Range { start, step, count } => {
                format!("{start}:+{count}:{step}")
            }
            crate::slice::SliceItem::Index { index } => index.to_string(),
            crate::slice::SliceItem::NewAxis => "new".into(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// One line per layer, inputs first: `%k = label(inputs) detail : dtype shape chunks`.
///
/// ```
/// use chunkwise_ir::{dump, ChunkGrid, DType, Node, Scalar};
/// let x = Node::full(ChunkGrid::regular(&[4], &[2]).unwrap(), DType::F64, Scalar::F64(1.0)).unwrap();
/// assert_eq!(dump::layers_text(&[x]), "%0 = full(1.0)() : f64 [4] chunks (4/2)\noutputs: %0\n");
/// ```
pub fn layers_text(outputs: &[Node]) -> String {
    let order = topo_order(outputs);
    let mut idx: FxHashMap<u64, usize> = FxHashMap::default();
    let mut s = String::new();
    for (i, n) in order.iter().enumerate() {
        idx.insert(n.id(), i);
        let ins: Vec<String> = n
            .inputs()
            .iter()
            .map(|m| format!("%{}", idx[&m.id()]))
            .collect();
        let meta = if n.is_task() {
            "task".to_string()
        } else {
            format!("{} {:?} chunks {}", n.dtype(), n.shape(), n.chunks())
        };
        let _ = writeln!(
            s,
            "%{i} = {}({}){} : {meta}",
            n.label(),
            ins.join(", "),
            detail(n)
        );
    }
    let outs: Vec<String> = outputs
        .iter()
        .map(|o| format!("%{}", idx[&o.id()]))
        .collect();
    let _ = writeln!(s, "outputs: {}", outs.join(", "));
    s
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The layer graph in Graphviz DOT.
pub fn layers_dot(outputs: &[Node]) -> String {
    let order = topo_order(outputs);
    let mut idx: FxHashMap<u64, usize> = FxHashMap::default();
    let mut s = String::from(
        "digraph layers {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, n) in order.iter().enumerate() {
        idx.insert(n.id(), i);
        let (label, shape) = if n.is_task() {
            (
                format!("{}\\ndelayed call", dot_escape(&n.label())),
                "ellipse",
            )
        } else {
            let l = format!(
                "{}\\n{} {:?}\\nchunks {}",
                dot_escape(&n.label()),
                n.dtype(),
                n.shape(),
                n.chunks()
            );
            (l, "box")
        };
        let extra = if outputs.iter().any(|o| o.id() == n.id()) {
            format!(", shape={shape}, peripheries=2")
        } else {
            format!(", shape={shape}")
        };
        let _ = writeln!(s, "  n{i} [label=\"{label}\"{extra}];");
        for m in n.inputs() {
            let _ = writeln!(s, "  n{} -> n{i};", idx[&m.id()]);
        }
    }
    s.push_str("}\n");
    s
}

/// The task graph in Graphviz DOT (one node per task; use on small graphs).
pub fn tasks_dot(g: &TaskGraph) -> String {
    let mut s = String::from(
        "digraph tasks {\n  rankdir=BT;\n  node [shape=ellipse, fontname=\"monospace\"];\n",
    );
    for t in 0..g.len() as u32 {
        let st = &g.stages[g.task_stage[t as usize] as usize];
        let _ = writeln!(
            s,
            "  t{t} [label=\"{} {:?}\"];",
            dot_escape(&st.label()),
            g.block_of(t)
        );
        for d in g.deps_of(t) {
            let _ = writeln!(s, "  t{d} -> t{t};");
        }
    }
    s.push_str("}\n");
    s
}
