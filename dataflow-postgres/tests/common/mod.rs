//! Multi-process races shared by the migration race tests: children of the
//! test binary (an ignored test of it) start at one moment and report on
//! stdout, `APPLIED=true|false` or `ERROR=<message>`.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// In a child: sleeps until `start` (milliseconds since the epoch, as
/// [`run_children`] passes it).
pub fn wait_until(start: &str) {
    let start: u64 = start.parse().expect("start");
    let now = now_ms();
    if start > now {
        std::thread::sleep(Duration::from_millis(start - now));
    }
}

/// Runs `n` children of this test binary, each the ignored test `child` with
/// `env` and `start_env` set to a moment `ahead` from now (far enough that
/// every child is connected and waiting by then). Fails when a child fails;
/// returns how many printed `APPLIED=true` and every `ERROR=` message.
pub fn run_children(
    child: &str,
    n: usize,
    env: &[(&str, &str)],
    start_env: &str,
    ahead: Duration,
) -> (usize, Vec<String>) {
    let exe = std::env::current_exe().expect("test binary");
    let start = (now_ms() + ahead.as_millis() as u64).to_string();
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", child, "--ignored", "--nocapture"])
                .envs(env.iter().copied())
                .env(start_env, &start)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let (mut applied, mut errors) = (0, Vec::new());
    for child in children {
        let out = child.wait_with_output().expect("output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in stdout.lines() {
            if line == "APPLIED=true" {
                applied += 1;
            } else if let Some(e) = line.strip_prefix("ERROR=") {
                errors.push(e.to_owned());
            }
        }
    }
    (applied, errors)
}
