//! What the binary tests share: starting `warden` as an operator would, talking
//! plain HTTP/1 to it, and running a test on both backends.

#![allow(dead_code)] // each test file uses its own part

pub mod private_postgres;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_warden");

pub fn free_address() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

/// Two distinct free addresses (both bound at once, so they differ).
pub fn two_free_addresses() -> (String, String) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().to_string(),
        b.local_addr().unwrap().to_string(),
    )
}

pub fn get(address: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split("\r\n\r\n").nth(1)?.to_owned();
    Some((status, body))
}

/// Sends one HTTP/1.0 request (`extra_headers` are whole `Name: value` lines) and
/// reads the status and body.
pub fn send(
    address: &str,
    method: &str,
    path: &str,
    extra_headers: &[&str],
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for line in extra_headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split("\r\n\r\n").nth(1)?.to_owned();
    Some((status, body))
}

/// A running `warden`; killed when dropped, its log read on [`Self::stop`].
pub struct Running {
    pub child: Child,
    pub address: String,
    /// What it has written to stdout and stderr, read as it goes: a full pipe would
    /// stop the server at its next log line.
    output: Vec<std::thread::JoinHandle<String>>,
}

impl Running {
    pub fn start(address: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in std::env::vars().filter(|(k, _)| k.starts_with("WARDEN_")) {
            command.env_remove(var.0);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let output = vec![
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stdout.read_to_string(&mut text);
                text
            }),
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            }),
        ];
        let mut running = Self {
            child,
            address: address.to_owned(),
            output,
        };
        let started = Instant::now();
        while get(address, "/api/v2/buildinfo").is_none() {
            if let Some(exit) = running.child.try_wait().unwrap() {
                panic!("warden exited with {exit}: {}", running.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "warden never answered on {address}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        running
    }

    pub fn build_info(&self) -> serde_json::Value {
        let (status, body) = get(&self.address, "/api/v2/buildinfo").unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Everything it wrote (stdout, then stderr); waits for it to exit if it has
    /// not yet.
    pub fn logs(&mut self) -> String {
        self.output
            .drain(..)
            .map(|reader| reader.join().unwrap())
            .collect()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
    }

    /// SIGTERM, a clean exit, and the log it wrote.
    pub fn stop(self) -> String {
        self.terminate();
        self.wait_for_clean_exit()
    }

    /// Waits for the exit that follows a SIGTERM, asserts it is clean, and returns
    /// the log.
    pub fn wait_for_clean_exit(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let logs = self.logs();
        assert!(exit.success(), "SIGTERM is a clean stop: {exit:?}\n{logs}");
        logs
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(warden_storage::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(warden_storage::Backend::Postgres) })*
        }
    };
}
