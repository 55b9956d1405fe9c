//! chain::exec::set_env and replace_env change what getenv reads and what a
//! child gets. One test in its own process: the environment is the
//! process's, and the test harness runs tests on threads.

use std::ffi::OsStr;
use std::process::Command;

fn child_sees(name: &str) -> Option<String> {
    let out = Command::new("/bin/sh")
        .args(["-c", &format!("printf %s \"${{{name}-unset}}\"")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (text != "unset").then_some(text)
}

#[test]
fn set_and_replace_the_environment() {
    // SAFETY: this test is the only thread that touches the environment.
    unsafe {
        chain::exec::set_env(OsStr::new("CHAIN_TEST_NEW"), OsStr::new("one=1"));
    }
    assert_eq!(std::env::var("CHAIN_TEST_NEW").unwrap(), "one=1");
    assert_eq!(child_sees("CHAIN_TEST_NEW").as_deref(), Some("one=1"));
    assert!(std::env::var_os("PATH").is_some(), "the others stay");

    // A name that is there is replaced where it is, not added twice.
    let before = std::env::vars_os().count();
    unsafe { chain::exec::set_env(OsStr::new("CHAIN_TEST_NEW"), OsStr::new("two")) };
    assert_eq!(std::env::var("CHAIN_TEST_NEW").unwrap(), "two");
    assert_eq!(std::env::vars_os().count(), before);
    // A name that is a prefix of another is its own variable.
    unsafe { chain::exec::set_env(OsStr::new("CHAIN_TEST"), OsStr::new("short")) };
    assert_eq!(std::env::var("CHAIN_TEST").unwrap(), "short");
    assert_eq!(std::env::var("CHAIN_TEST_NEW").unwrap(), "two");

    // std's remove_var (unsetenv, in place) works on our array.
    unsafe { std::env::remove_var("CHAIN_TEST") };
    assert!(std::env::var_os("CHAIN_TEST").is_none());
    assert_eq!(child_sees("CHAIN_TEST"), None);

    let path = std::env::var_os("PATH").unwrap();
    unsafe {
        chain::exec::replace_env(&[
            (OsStr::new("PATH"), path.as_os_str()),
            (OsStr::new("ONLY"), OsStr::new("this")),
        ])
    };
    let names: Vec<_> = std::env::vars_os().map(|(k, _)| k).collect();
    assert_eq!(names, ["PATH", "ONLY"]);
    assert_eq!(child_sees("ONLY").as_deref(), Some("this"));
    assert_eq!(child_sees("CHAIN_TEST_NEW"), None);
}
