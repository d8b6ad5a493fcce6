//! Graph pictures: Graphviz DOT of the layer graph or of the task graph, rendered to SVG or
//! PNG by the `dot` program when it is installed.
//!
//! ```
//! use chunkwise::{visualize::{visualize, Level}, Array};
//! let x = Array::random_uniform(&[100], &[50], 1).unwrap();
//! let y = (x.exp() + 1.0).sum(None, false).unwrap();
//! let path = std::env::temp_dir().join("chunkwise-doc-visualize.dot");
//! visualize(&[&y], Level::Tasks, &path).unwrap();
//! assert!(std::fs::read_to_string(&path).unwrap().starts_with("digraph"));
//! ```

use crate::error::{Error, Result};
use crate::Array;
use chunkwise_ir::{dump, Node};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The layers as built.
    Layers,
    /// The layers after the optimization passes.
    OptimizedLayers,
    /// The task graph that runs (optimized, lowered).
    Tasks,
}

/// How to install Graphviz, for error messages.
pub const INSTALL_HINT: &str = "install Graphviz for the `dot` program \
(Debian/Ubuntu: `sudo apt-get install graphviz`; macOS: `brew install graphviz`; \
Fedora: `sudo dnf install graphviz`), or write a `.dot` file instead";

/// The DOT text of `arrays` at `level`.
pub fn dot(arrays: &[&Array], level: Level) -> Result<String> {
    let nodes = arrays
        .iter()
        .map(|a| a.node().cloned())
        .collect::<Result<Vec<_>>>()?;
    dot_nodes(&nodes, level)
}

/// The DOT text of any graph (arrays, delayed calls, or both) at `level`.
pub fn dot_nodes(nodes: &[Node], level: Level) -> Result<String> {
    Ok(match level {
        Level::Layers => dump::layers_dot(nodes),
        Level::OptimizedLayers => dump::layers_dot(&crate::compute::optimize(nodes, None)?.outputs),
        Level::Tasks => dump::tasks_dot(&crate::compute::plan(nodes, None)?),
    })
}

/// Writes a picture of `arrays` to `path`: DOT text for `.dot` (or `.gv`), rendered by
/// `dot` for `.svg`, `.png` and `.pdf`. Without `dot` installed, rendering fails with an
/// error that says how to install it (and nothing is written).
pub fn visualize(arrays: &[&Array], level: Level, path: impl AsRef<Path>) -> Result<()> {
    write_dot(&dot(arrays, level)?, path.as_ref())
}

/// [`visualize`] for any graph: delayed values' nodes ([`crate::delayed::Delayed::node`]),
/// arrays' nodes, or both.
pub fn visualize_nodes(nodes: &[Node], level: Level, path: impl AsRef<Path>) -> Result<()> {
    write_dot(&dot_nodes(nodes, level)?, path.as_ref())
}

/// Writes DOT text to `path`, rendering it by the file's extension (see [`visualize`]).
pub fn write_dot(text: &str, path: &Path) -> Result<()> {
    let file_err = |message: String| Error::File {
        path: path.display().to_string(),
        message,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = match ext.as_str() {
        "dot" | "gv" => {
            return std::fs::write(path, text).map_err(|e| file_err(e.to_string()));
        }
        "svg" | "png" | "pdf" => ext,
        other => {
            return Err(file_err(format!(
                "unknown picture format {other:?} (use .dot, .svg, .png or .pdf)"
            )))
        }
    };
    let mut child = Command::new("dot")
        .arg(format!("-T{format}"))
        .arg("-o")
        .arg(path)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => file_err(format!(
                "the `dot` program is not installed: {INSTALL_HINT}"
            )),
            _ => file_err(format!("cannot run `dot`: {e}")),
        })?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(text.as_bytes())
        .map_err(|e| file_err(format!("writing to `dot`: {e}")))?;
    let out = child
        .wait_with_output()
        .map_err(|e| file_err(format!("`dot` failed: {e}")))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(path);
        return Err(file_err(format!(
            "`dot` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
