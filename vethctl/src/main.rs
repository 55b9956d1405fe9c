//! vethctl: wire a container's network namespace with a veth pair as a
//! chain step (issue 10). Not built yet: only the netlink encoding exists.

#[allow(dead_code)]
mod netlink;

use chain::{Error, cli};

const PROG: &str = "vethctl";

fn main() {
    cli::main(PROG, || {
        Err(Error::msg(
            "not built yet: only its netlink encoding exists (issue 10)",
        ))
    })
}
