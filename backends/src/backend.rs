//! The backend seam: what the pipeline asks of a backend.
//!
//! The run half of the pipeline (`chunkwise::compute`) knows nothing of how a kernel runs:
//! for every task it hands a [`Backend`] the task's stage, block and input values and gets
//! the task's value back. Values say where their data lives ([`Value::location`]) and the
//! backend reports the memory it computes in ([`Backend::memory`]); the pipeline moves
//! values to host memory only where it must ([`Backend::to_host`]: today the outputs; with
//! a device backend also spilling and kernels that only run on the host, see
//! `docs/ARCHITECTURE.md`). [`cpu::CpuBackend`](crate::cpu::CpuBackend) is the first
//! implementation; a CUDA backend implements the same trait with values in device memory.
//!
//! ```
//! use chunkwise_backends::{cpu::CpuBackend, Backend, Location};
//! let cpu = CpuBackend;
//! assert_eq!(cpu.name(), "cpu");
//! assert_eq!(cpu.memory().location, Location::Host);
//! ```

use crate::{KernelError, Value};
use chunkwise_ir::Stage;

/// Where the data of a value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// Host memory (CPU chunks, reduction states, delayed values).
    Host,
    /// The memory of an accelerator, by device ordinal.
    Device(u32),
    /// A local file (a spilled chunk): it holds no memory until it is read back.
    File,
}

/// The memory a backend computes in, as it reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryInfo {
    /// Where the backend's task values live.
    pub location: Location,
    /// Bytes of that memory in all, where the backend knows it.
    pub total: Option<u64>,
    /// Bytes of it free now, where the backend knows it.
    pub available: Option<u64>,
}

/// A backend: computes tasks and says where their values live.
///
/// Implementations must be thread-safe: the runtime calls [`Backend::execute`] from every
/// worker thread at once.
pub trait Backend: Sync {
    /// A short name (`"cpu"`, `"cuda"`), for messages and traces.
    fn name(&self) -> &'static str;

    /// Computes block `block` (linear index in the stage grid) of `stage` from the values of
    /// its dependencies, given in the order of
    /// [`Stage::for_each_dep`](chunkwise_ir::Stage::for_each_dep). Inputs may live anywhere
    /// this backend can read (its own memory or the host); the value returned lives in the
    /// backend's memory ([`Backend::memory`]).
    fn execute(&self, stage: &Stage, block: u64, inputs: &[Value]) -> Result<Value, KernelError>;

    /// The memory the backend's values live in and, where known, its size and free bytes.
    fn memory(&self) -> MemoryInfo;

    /// `value` with its data in host memory: a copy from the device for device values, the
    /// value itself for host values. Spilled chunks stay as they are (the spill store reads
    /// them back).
    fn to_host(&self, value: Value) -> Result<Value, KernelError>;
}
