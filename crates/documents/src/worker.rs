//! Render workers: each batch runs in a child process under a memory limit and a deadline,
//! so a template that loops or allocates without end costs one killed process, never the
//! server. The child reads a [`Job`] as JSON on stdin and writes one frame per output on
//! stdout: a tag byte (`P` for a PDF, `E` for a JSON [`TemplateError`]), the payload's
//! length as a little-endian u64, the payload.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fair::{FairSlots, Tenant};
use crate::job::{Job, Output, TemplateError};

/// The child's side: render the job on stdin, answer on stdout.
pub fn serve() -> std::io::Result<()> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let job: Job = serde_json::from_slice(&input)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for output in crate::render::render(&job) {
        let (tag, payload) = match output {
            Ok(pdf) => (b'P', pdf),
            Err(e) => (b'E', serde_json::to_vec(&e).expect("errors serialize")),
        };
        out.write_all(&[tag])?;
        out.write_all(&(payload.len() as u64).to_le_bytes())?;
        out.write_all(&payload)?;
    }
    out.flush()
}

/// Why a batch produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering took longer than {0:?}; does the template loop without end?")]
    TimedOut(Duration),
    #[error("rendering needed more than {} MiB of memory", .0 / 1024 / 1024)]
    OutOfMemory(u64),
    #[error("the render worker failed: {0}")]
    Failed(String),
}

/// Limits of one worker process.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_bytes: u64,
    /// Every batch may take this long, plus `per_document` for each document in it.
    pub base_time: Duration,
    pub per_document: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory_bytes: 2 << 30,
            base_time: Duration::from_secs(10),
            per_document: Duration::from_millis(200),
        }
    }
}

/// The parent's side: runs jobs in worker processes, at most one per core at a time and
/// all of them for a tenant alone, half while another tenant waits ([`FairSlots`]).
#[derive(Clone)]
pub struct Renderer {
    program: PathBuf,
    args: Vec<String>,
    limits: Limits,
    slots: Arc<FairSlots>,
    parallelism: usize,
}

/// Batches smaller than this run in one process; larger ones are split across cores.
const SPLIT_AT: usize = 64;

impl Renderer {
    /// Workers are started as `program args…`, which must end up calling [`serve`].
    pub fn new(program: PathBuf, args: Vec<String>) -> Renderer {
        let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
        Renderer {
            program,
            args,
            limits: Limits::default(),
            slots: Arc::new(FairSlots::new(parallelism)),
            parallelism,
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Renderer {
        self.limits = limits;
        self
    }

    /// Renders a tenant's job; outputs come back in the order of its documents.
    pub async fn render(&self, tenant: Tenant, job: Job) -> Result<Vec<Output>, RenderError> {
        if job.merge || job.documents.len() < SPLIT_AT {
            return self.run(tenant, &job).await;
        }
        let per_worker = job.documents.len().div_ceil(self.parallelism);
        let mut workers = tokio::task::JoinSet::new();
        for (index, docs) in job.documents.chunks(per_worker).enumerate() {
            let part = Job {
                templates: job.templates.clone(),
                documents: docs.to_vec(),
                merge: false,
                files: job.files.clone(),
            };
            let renderer = self.clone();
            workers.spawn(async move { (index, renderer.run(tenant, &part).await) });
        }
        let mut parts = Vec::new();
        while let Some(joined) = workers.join_next().await {
            parts.push(joined.map_err(|e| RenderError::Failed(e.to_string()))?);
        }
        parts.sort_by_key(|(index, _)| *index);
        let mut outputs = Vec::with_capacity(job.documents.len());
        for (_, part) in parts {
            outputs.extend(part?);
        }
        Ok(outputs)
    }

    async fn run(&self, tenant: Tenant, job: &Job) -> Result<Vec<Output>, RenderError> {
        let _slot = self.slots.acquire(tenant).await;
        let deadline =
            self.limits.base_time + self.limits.per_document * job.documents.len() as u32;
        let input = serde_json::to_vec(job).map_err(|e| RenderError::Failed(e.to_string()))?;
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        limit_memory(&mut command, self.limits.memory_bytes);
        let mut child = command
            .spawn()
            .map_err(|e| RenderError::Failed(format!("starting {:?}: {e}", self.program)))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let exchange = async {
            let write = async {
                // A worker that dies early closes its stdin; its exit status says why.
                let _ = stdin.write_all(&input).await;
                drop(stdin);
            };
            let mut out = Vec::new();
            let mut err = Vec::new();
            let (_, read_out, _) = tokio::join!(
                write,
                stdout.read_to_end(&mut out),
                stderr.read_to_end(&mut err)
            );
            read_out.map_err(|e| RenderError::Failed(e.to_string()))?;
            let status = child
                .wait()
                .await
                .map_err(|e| RenderError::Failed(e.to_string()))?;
            Ok::<_, RenderError>((status, out, err))
        };
        let (status, out, err) = tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| RenderError::TimedOut(deadline))??;
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            if err.contains("memory allocation") || err.contains("out of memory") {
                return Err(RenderError::OutOfMemory(self.limits.memory_bytes));
            }
            return Err(RenderError::Failed(format!("{status}: {}", err.trim())));
        }
        let outputs = parse_frames(&out)?;
        if outputs.len() != if job.merge { 1 } else { job.documents.len() } {
            return Err(RenderError::Failed(
                "the worker answered too few documents".into(),
            ));
        }
        Ok(outputs)
    }
}

fn parse_frames(mut bytes: &[u8]) -> Result<Vec<Output>, RenderError> {
    let broken = || RenderError::Failed("the worker's answer is cut short".into());
    let mut outputs = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        let (len, rest) = rest.split_at_checked(8).ok_or_else(broken)?;
        let len = u64::from_le_bytes(len.try_into().expect("eight bytes")) as usize;
        let (payload, rest) = rest.split_at_checked(len).ok_or_else(broken)?;
        outputs.push(match tag {
            b'P' => Ok(payload.to_vec()),
            _ => Err(serde_json::from_slice::<TemplateError>(payload)
                .map_err(|e| RenderError::Failed(e.to_string()))?),
        });
        bytes = rest;
    }
    Ok(outputs)
}

/// Caps the child's address space, so a runaway template fails an allocation and exits.
fn limit_memory(command: &mut tokio::process::Command, bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: between fork and exec the closure only calls setrlimit, which is
    // async-signal-safe, and touches no memory shared with the parent.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}
