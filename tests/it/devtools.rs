//! A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! it reads commands on fd 3 and writes answers and events on fd 4, each one JSON text ended
//! by a NUL byte), attached to one page: for the tests that click on a page and read what it
//! shows.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use nix::fcntl::OFlag;
use serde_json::{json, Value};

use crate::harness::{CHROMIUM, CHROMIUM_HEADLESS};

/// How long Chromium may take to answer one command (a loaded 2-core machine is slow).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A Chromium with one page attached.
pub struct Devtools {
    child: Child,
    commands: File,
    messages: Receiver<Value>,
    next_id: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Devtools {
    /// Starts Chromium headless (as the other tests run it: no sandbox, no GPU, none of its
    /// own network traffic) with a window of `width` x `height` and attaches to its page.
    pub fn start(width: u32, height: u32) -> Devtools {
        let profile = tempfile::Builder::new()
            .prefix("strata-it-devtools-")
            .tempdir()
            .expect("a profile directory");
        let (their_in, our_out) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("a pipe");
        let (our_in, their_out) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("a pipe");
        let (fd_in, fd_out) = (their_in.as_raw_fd(), their_out.as_raw_fd());
        let mut cmd = Command::new(CHROMIUM);
        cmd.args(CHROMIUM_HEADLESS)
            .arg("--remote-debugging-pipe")
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec the child calls only fcntl, dup2 and close, which are
        // async-signal-safe. The ends are first copied above fd 9, so that neither dup2 can
        // overwrite the other's source; dup2 clears close-on-exec on fds 3 and 4, so they, and
        // no other end, reach Chromium.
        unsafe {
            cmd.pre_exec(move || {
                use nix::libc::{close, dup2, fcntl, F_DUPFD};
                let high_in = fcntl(fd_in, F_DUPFD, 10);
                let high_out = fcntl(fd_out, F_DUPFD, 10);
                if high_in < 0 || high_out < 0 || dup2(high_in, 3) < 0 || dup2(high_out, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                close(high_in);
                close(high_out);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("starting chromium");
        drop((their_in, their_out));
        let messages = read_messages(our_in);
        let mut tools = Devtools {
            child,
            commands: File::from(our_out),
            messages,
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let targets = tools.call("Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .expect("targets")
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target")["targetId"]
            .clone();
        let attached = tools.call(
            "Target.attachToTarget",
            json!({"targetId": page, "flatten": true}),
        );
        tools.session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        tools.call("Page.enable", json!({}));
        tools
    }

    /// Sends `method` (to the page once attached) and returns its answer's `result`; panics on
    /// an error answer.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("a command");
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .expect("writing to chromium");
        loop {
            let answer = self.next_message(method);
            if answer["id"] == id {
                assert!(answer["error"].is_null(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Opens `url` and waits for its `load` event.
    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        while self.next_message("Page.loadEventFired")["method"] != "Page.loadEventFired" {}
    }

    /// The value of the JavaScript `expression` on the page (JSON-serializable); panics if it
    /// throws.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "`{expression}` threw: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    fn next_message(&self, waiting_for: &str) -> Value {
        self.messages
            .recv_timeout(ANSWER_TIMEOUT)
            .unwrap_or_else(|e| panic!("chromium did not answer {waiting_for}: {e}"))
    }
}

impl Drop for Devtools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads Chromium's NUL-ended messages on a thread, handing each over parsed.
fn read_messages(from: OwnedFd) -> Receiver<Value> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(File::from(from));
        loop {
            let mut message = Vec::new();
            match reader.read_until(0, &mut message) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            message.pop();
            let Ok(value) = serde_json::from_slice(&message) else {
                return;
            };
            if sender.send(value).is_err() {
                return;
            }
        }
    });
    receiver
}
