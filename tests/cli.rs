//! The command line end to end: `examples/cli.rs` run as a subprocess on
//! SQLite and PostgreSQL, its exit codes checked and its `--json` output
//! parsed. `cargo test` builds the examples before running tests.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use dataflow_core::prelude::*;
use serde_json::Value as Json;

/// `customers` as the example declares it, plus a column the example's
/// model lacks: the example then plans to drop it (HIGH once it holds data).
#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "customers")]
struct CustomerWithNickname {
    id: i64,
    name: String,
    #[dataflow(unique, max_length = 255)]
    email: String,
    nickname: Option<String>,
}

fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(format!("cli{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds it; alone, run `cargo build --example cli` first",
        bin.display()
    );
    bin
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Json {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Runs the example against `target` with no terminal on stdin.
fn cli(target: &str, args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(example())
        .arg("--database-url")
        .arg(target)
        .args(args)
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    );
    Run {
        code: status.code().unwrap_or_else(|| {
            panic!("{args:?} ended by {status}\nstdout: {stdout}\nstderr: {stderr}")
        }),
        stdout,
        stderr,
    }
}

fn expect(target: &str, args: &[&str], code: i32) -> Run {
    let run = cli(target, args);
    assert_eq!(
        run.code, code,
        "{args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    run
}

/// The whole life of a database through the command line; `open` opens a
/// second handle on it (another deployment that added a column).
fn life(target: &str, open: &dyn Fn() -> DataFlow) {
    let history_before = expect(target, &["history", "--json"], 0)
        .json()
        .as_array()
        .unwrap()
        .len();

    // Nothing applied: status, plan and check say so with exit 2.
    let status = expect(target, &["status", "--json"], 2).json();
    assert_eq!(status["pending"], 2, "{status}");
    let plan = expect(target, &["plan", "--json"], 2).json();
    let ops: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["create_table", "create_table"]);
    let sql = expect(target, &["plan", "--sql"], 2).stdout;
    assert!(sql.starts_with("CREATE TABLE \"customers\""), "{sql}");
    assert!(sql.lines().all(|l| l.ends_with(';')), "{sql}");
    let check = expect(target, &["check", "--json"], 2).json();
    assert_eq!(check["drift"], true);
    assert!(!check["differences"].as_array().unwrap().is_empty());
    let human = expect(target, &["status"], 2).stdout;
    assert!(human.contains("2 step(s), highest risk SAFE"), "{human}");

    // SAFE steps apply without consent.
    let applied = expect(target, &["apply", "--json"], 0).json();
    assert_eq!(applied["applied"], true);
    let status = expect(target, &["status", "--json"], 0).json();
    assert_eq!(status["pending"], 0);
    assert_eq!(status["current"], applied["version"]);
    expect(target, &["check"], 0);
    expect(target, &["plan"], 0);

    // Another deployment added a column and wrote to it: the example's plan
    // now drops data (HIGH).
    let other = open();
    other.register::<CustomerWithNickname>().unwrap();
    other.auto_migrate(MigrateOptions::default()).unwrap();
    CustomerWithNickname::create(
        &other,
        CustomerWithNickname {
            id: 0,
            name: "Ann".into(),
            email: "ann@example.org".into(),
            nickname: Some("annie".into()),
        },
    )
    .unwrap();
    drop(other);

    // No terminal, no --yes: refused, and the message says why and what allows it.
    let refused = expect(target, &["apply"], 1);
    assert!(
        refused.stderr.contains("error: migration refused"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(
            "Policy: non-interactive migration (no TTY: stdin and stderr are not terminals"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("(CLI: --yes --max-risk high)"),
        "{}",
        refused.stderr
    );
    let refused = expect(target, &["apply", "--yes", "--json"], 1).json();
    assert_eq!(refused["error"]["kind"], "migration_refused");
    let step = refused["error"]["steps"][0].as_str().unwrap();
    assert!(
        step.starts_with("drop column customers: HIGH is above the allowed SAFE"),
        "{step}"
    );
    assert!(step.ends_with("(CLI: --yes --max-risk high)"), "{step}");
    assert!(refused["error"]["policy"]
        .as_str()
        .unwrap()
        .starts_with("migration with auto_confirm(true)"));
    let dry = expect(target, &["apply", "--dry-run", "--json"], 2).json();
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["steps"][0]["risk"], "HIGH");
    let dropped = expect(
        target,
        &["apply", "--yes", "--max-risk", "high", "--json"],
        0,
    )
    .json();
    assert_eq!(dropped["applied"], true);
    assert_eq!(dropped["steps"][0]["operation"], "drop_column");
    expect(target, &["check"], 0);

    let history = expect(target, &["history", "--json"], 0).json();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), history_before + 3);
    assert_eq!(history.last().unwrap()["version"], dropped["version"]);
    assert!(history.iter().all(|r| r["status"] == "applied"));
    let table = expect(target, &["history"], 0).stdout;
    assert!(table.contains("drop column customers"), "{table}");

    let metrics = expect(target, &["metrics", "--json"], 0).json();
    assert_eq!(metrics["count"], history.len());
    assert_eq!(metrics["success_rate"], 1.0);
    assert!(metrics["median_ms"].is_number() && metrics["p95_ms"].is_number());
    assert!(!metrics["slowest_steps"].as_array().unwrap().is_empty());
    assert!(expect(target, &["metrics"], 0)
        .stdout
        .contains("p95 duration"));

    // Rolling back the drop brings the column back with its value (backed up).
    let undone = expect(target, &["rollback", "-1", "--json"], 0).json();
    assert_eq!(undone["rolled_back"][0], dropped["version"]);
    let back = open();
    back.register::<CustomerWithNickname>().unwrap();
    back.check().unwrap();
    let ann = CustomerWithNickname::list(&back).all().unwrap();
    assert_eq!(ann[0].nickname.as_deref(), Some("annie"));
    drop(back);
    expect(target, &["status"], 2);
    let metrics = expect(target, &["metrics", "--json"], 0).json();
    assert_eq!(metrics["rollbacks"], 1);
    assert_eq!(metrics["rolled_back"], 1);

    // Errors: exit 1, as JSON with --json.
    let bad = expect(target, &["rollback", "nope", "--json"], 1).json();
    assert_eq!(bad["error"]["kind"], "invalid_input", "{bad}");
    let bad = expect(target, &["rollback", "-0", "--json"], 1).json();
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("-N"),
        "{bad}"
    );
    expect(target, &["frobnicate"], 1);
    expect(target, &["apply", "--max-risk", "extreme"], 1);
    assert!(expect(target, &["--help"], 0).stdout.contains("Exit codes"));
}

#[test]
fn the_cli_drives_an_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let target = path.to_str().unwrap().to_owned();
    life(&target, &|| dataflow_sqlite::open(&path).unwrap());
}

#[test]
fn the_cli_drives_a_postgres_database() {
    // Skipped only without a server and outside CI (server_url panics under CI=true).
    let Some(_) = dataflow_postgres::testing::server_url() else {
        eprintln!("skipped: no PostgreSQL (set DATABASE_URL)");
        return;
    };
    let db = dataflow_postgres::testing::TestDb::builder()
        .build()
        .unwrap();
    let url = db.url().to_owned();
    life(&url, &|| dataflow_postgres::connect(&url).unwrap());
}

/// Runs the example on a pseudo-terminal (util-linux `script`), typing
/// `keys` once the prompt is up; `None` when `script` is not installed.
fn on_a_terminal(target: &str, args: &str, keys: &str) -> Option<Run> {
    let have_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_script {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let command = format!("'{}' --database-url '{target}' {args}", example().display());
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let seen = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    // Type only once the prompt is up (the program then reads the terminal
    // in raw mode); give up after a minute.
    let prompt = "highest risk HIGH?";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains(prompt)
        && std::time::Instant::now() < deadline
        && child.try_wait().unwrap().is_none()
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    {
        use std::io::Write;
        let _ = stdin.write_all(keys.as_bytes());
        let _ = stdin.flush();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let stdout = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    Some(Run {
        code: status.code().expect("exited"),
        stdout,
        stderr,
    })
}

#[test]
fn on_a_terminal_apply_asks_before_a_risky_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let target = path.to_str().unwrap().to_owned();
    expect(&target, &["apply"], 0);
    let other = dataflow_sqlite::open(&path).unwrap();
    other.register::<CustomerWithNickname>().unwrap();
    other.auto_migrate(MigrateOptions::default()).unwrap();
    CustomerWithNickname::create(
        &other,
        CustomerWithNickname {
            id: 0,
            name: "Ann".into(),
            email: "ann@example.org".into(),
            nickname: Some("annie".into()),
        },
    )
    .unwrap();

    let Some(declined) = on_a_terminal(&target, "apply", "n") else {
        return;
    };
    assert_eq!(declined.code, 1, "{}{}", declined.stdout, declined.stderr);
    assert!(
        declined
            .stdout
            .contains("Apply 1 step(s), highest risk HIGH?"),
        "{}",
        declined.stdout
    );
    assert!(declined
        .stdout
        .contains("declined at the confirmation prompt"));
    expect(&target, &["status"], 2);

    let accepted = on_a_terminal(&target, "apply", "y").unwrap();
    assert_eq!(accepted.code, 0, "{}{}", accepted.stdout, accepted.stderr);
    assert!(accepted
        .stdout
        .contains("Apply 1 step(s), highest risk HIGH?"));
    expect(&target, &["status"], 0);
    expect(&target, &["check"], 0);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dataflow(table = "orders")]
#[dataflow(foreign_key(
    field = "customer_id",
    references = "customers(id)",
    on_delete = "cascade"
))]
struct Order {
    id: i64,
    customer_id: i64,
    total_cents: i64,
}

/// Writes the migration a deployment with `customers.nickname` would
/// generate into `dir` (the SQL of `db`'s backend).
fn generate_nickname(db: &DataFlow, dir: &std::path::Path) -> String {
    db.register_all(models![CustomerWithNickname, Order])
        .unwrap();
    match db.generate_migration(dir, "nickname").unwrap() {
        dataflow_core::Generated::Written { id, .. } => id,
        other => panic!("{other:?}"),
    }
}

/// The life of migration files through the command line: generate, status,
/// check, apply, an edited file and its repair, rollback, upgrade and
/// downgrade, squash, multiple heads and merge, baseline.
fn files_life(target: &str, work: &std::path::Path, second: &str, open: &dyn Fn(&str) -> DataFlow) {
    let dir = work.join("migrations");
    let d = dir.to_str().unwrap();
    let with = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        v.extend(["--dir".into(), d.into()]);
        v
    };
    let run = |args: &[&str], code: i32| {
        let args = with(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        expect(target, &args, code)
    };

    // Without files, the file-only commands say what to do first.
    let none = run(&["upgrade", "--json"], 1).json();
    assert!(
        none["error"]["message"]
            .as_str()
            .unwrap()
            .contains("generate NAME"),
        "{none}"
    );

    let generated = run(&["generate", "init", "--json"], 0).json();
    assert_eq!(generated["written"], true, "{generated}");
    let init = generated["id"].as_str().unwrap().to_owned();
    assert!(init.ends_with("_init"));
    for f in ["up.sql", "down.sql", "plan.json"] {
        assert!(dir.join(&init).join(f).is_file(), "{f}");
    }
    assert_eq!(
        run(&["generate", "again", "--json"], 0).json()["written"],
        false
    );

    let status = run(&["status", "--json"], 2).json();
    assert_eq!(status["pending"], 1, "{status}");
    assert_eq!(status["migrations"][0]["state"], "pending");
    let check = run(&["check", "--json"], 2).json();
    assert!(
        check["differences"][0]
            .as_str()
            .unwrap()
            .contains("is not applied"),
        "{check}"
    );
    let sql = run(&["plan", "--sql"], 2).stdout;
    assert!(sql.contains("CREATE TABLE \"customers\""), "{sql}");

    let applied = run(&["apply", "--json"], 0).json();
    assert_eq!(applied["migrations"][0]["id"], init.as_str(), "{applied}");
    assert_eq!(run(&["status", "--json"], 0).json()["pending"], 0);
    run(&["check"], 0);

    // An applied file edited later is named, and `repair` accepts it.
    let up = dir.join(&init).join("up.sql");
    let mut text = std::fs::read_to_string(&up).unwrap();
    text.push_str("\n-- reviewed\n");
    std::fs::write(&up, text).unwrap();
    let status = run(&["status", "--json"], 2).json();
    assert_eq!(status["edited"][0], init.as_str(), "{status}");
    let refused = run(&["apply", "--json"], 1).json();
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&init),
        "{refused}"
    );
    run(&["repair", &init], 0);
    run(&["status"], 0);

    // Rollback, upgrade and downgrade move along the files.
    let undone = run(&["rollback", "--json"], 0).json();
    assert_eq!(undone["migrations"][0]["id"], init.as_str(), "{undone}");
    assert_eq!(run(&["status", "--json"], 2).json()["pending"], 1);
    run(&["upgrade", &init], 0);
    run(&["downgrade", "0"], 0);
    run(&["upgrade"], 0);
    run(&["check"], 0);
    assert!(!run(&["history", "--json"], 0)
        .json()
        .as_array()
        .unwrap()
        .is_empty());
    assert!(
        run(&["metrics", "--json"], 0).json()["count"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // Another branch added `customers.nickname` after `init`.
    let ahead = {
        let branch = work.join("ahead");
        std::fs::create_dir_all(&branch).unwrap();
        copy_dir(&dir.join(&init), &branch.join(&init));
        let id = generate_nickname(&open(second), &branch);
        (branch, id)
    };
    // Two migrations after `init` (one from another branch): multiple heads.
    copy_dir(&ahead.0.join(&ahead.1), &dir.join(&ahead.1));
    {
        let h = open(second);
        h.register_all(models![CustomerWithNickname]).unwrap();
        let theirs = work.join("theirs");
        std::fs::create_dir_all(&theirs).unwrap();
        copy_dir(&dir.join(&init), &theirs.join(&init));
        let generated = dataflow_core::GenerateOptions::default()
            .at(chrono::Utc::now() + chrono::Duration::hours(1));
        match h
            .generate_migration_with(&theirs, "orders_gone", generated)
            .unwrap()
        {
            dataflow_core::Generated::Written { id, .. } => {
                copy_dir(&theirs.join(&id), &dir.join(&id))
            }
            o => panic!("{o:?}"),
        }
    }
    let heads = run(&["apply", "--json"], 1).json();
    let message = heads["error"]["message"].as_str().unwrap();
    assert!(message.contains("head"), "{message}");
    let merged = run(&["merge", "--json"], 0).json();
    assert_eq!(merged["written"], true, "{merged}");
    assert_eq!(
        merged["plan"]["parents"].as_array().unwrap().len(),
        2,
        "{merged}"
    );

    // Squash on a linear history of two: init and nickname.
    let linear = work.join("linear");
    std::fs::create_dir_all(&linear).unwrap();
    copy_dir(&ahead.0.join(&init), &linear.join(&init));
    copy_dir(&ahead.0.join(&ahead.1), &linear.join(&ahead.1));
    let l = linear.to_str().unwrap();
    let squashed = expect(
        target,
        &[
            "squash", &init, &ahead.1, "--name", "base", "--dir", l, "--json",
        ],
        0,
    )
    .json();
    assert_eq!(squashed["written"], true, "{squashed}");
    assert_eq!(
        squashed["plan"]["replaces"].as_array().unwrap().len(),
        2,
        "{squashed}"
    );
    expect(target, &["squash", "nope", "nada", "--dir", l], 1);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// `baseline`: a database that was auto-migrated switches to files.
fn baseline(target: &str, work: &std::path::Path) {
    let dir = work.join("baseline");
    let d = dir.to_str().unwrap();
    expect(target, &["apply", "--dir", d], 0);
    let base = expect(target, &["baseline", "--dir", d, "--json"], 0).json();
    assert_eq!(base["written"], true, "{base}");
    let status = expect(target, &["status", "--dir", d, "--json"], 0).json();
    assert_eq!(status["migrations"][0]["state"], "applied", "{status}");
    expect(target, &["check", "--dir", d], 0);
}

#[test]
fn the_cli_drives_migration_files_on_sqlite() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("app.db");
    let target = path.to_str().unwrap().to_owned();
    files_life(&target, work.path(), ":memory:", &|u| {
        dataflow_sqlite::open(u).unwrap()
    });
    let other = work.path().join("auto.db");
    baseline(other.to_str().unwrap(), work.path());
}

#[test]
fn the_cli_drives_migration_files_on_postgres() {
    let Some(_) = dataflow_postgres::testing::server_url() else {
        eprintln!("skipped: no PostgreSQL (set DATABASE_URL)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let db = dataflow_postgres::testing::TestDb::builder()
        .build()
        .unwrap();
    let url = db.url().to_owned();
    files_life(&url, work.path(), &url, &|u| {
        dataflow_postgres::connect(u).unwrap()
    });
    let auto = dataflow_postgres::testing::TestDb::builder()
        .build()
        .unwrap();
    baseline(auto.url(), work.path());
}
