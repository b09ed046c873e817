//! The container's pid 1: a libcontainer executor that, once the runtime has entered the
//! namespaces and the root filesystem, forks the container's program and stays as its init,
//! as `docker run --init` (tini) does: it forwards the signals it gets to the program, reaps
//! every orphan that the kernel re-parents to it, and exits with the program's status
//! (128 + signal when a signal ended it).
//!
//! It runs in the container's init process, which libcontainer made single-threaded, so
//! `fork` there is safe; the code it runs is strata's own, already in memory, so nothing needs
//! to exist in the image.

use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use nix::sys::signal::{self, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use oci_spec::runtime::Spec;

/// The init executor.
#[derive(Clone, Default)]
pub struct InitExecutor;

/// Signals forwarded to the program (all that can be caught, but SIGCHLD).
fn forwarded() -> SigSet {
    let mut set = SigSet::all();
    set.remove(Signal::SIGCHLD);
    set.remove(Signal::SIGKILL);
    set.remove(Signal::SIGSTOP);
    set
}

impl Executor for InitExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let all = SigSet::all();
        signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&all), None)
            .map_err(|e| ExecutorError::Other(format!("sigprocmask: {e}")))?;
        // SAFETY: the container's init process is single-threaded (libcontainer clones it
        // from a single thread and runs nothing else in it), so the child may run any code.
        let child = match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let _ = signal::sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&all), None);
                let result = DefaultExecutor {}.exec(spec);
                eprintln!("strata-init: {:?}", result.err());
                std::process::exit(127);
            }
            Ok(ForkResult::Parent { child }) => child,
            Err(e) => return Err(ExecutorError::Other(format!("fork: {e}"))),
        };
        let status = supervise(child);
        std::process::exit(status);
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }
}

/// Waits for signals: SIGCHLD reaps, anything else goes to the program. Returns the
/// program's exit status once it has exited.
fn supervise(child: Pid) -> i32 {
    let mut waited = forwarded();
    waited.add(Signal::SIGCHLD);
    loop {
        if let Some(code) = reap(child) {
            return code;
        }
        match waited.wait() {
            Ok(Signal::SIGCHLD) | Err(_) => {}
            Ok(sig) => {
                let _ = signal::kill(child, sig);
            }
        }
    }
}

/// Reaps every exited child; the program's status if it was among them.
fn reap(child: Pid) -> Option<i32> {
    let mut found = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == child => found = Some(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == child => found = Some(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return found,
            Ok(_) => {}
        }
    }
}
