# Sourced by tests/run.sh, .ci/run and examples/demo.sh.
#
# The end-to-end tests and the demo run the built binaries as an unprivileged
# user too, so that user must be able to reach them. When the checkout sits
# under a directory others cannot enter (a clone under /root, say), build
# into /var/tmp instead. An explicit CARGO_TARGET_DIR is kept as it is.
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ "$(id -u)" = 0 ] \
   && ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$PWD" 2>/dev/null; then
  export CARGO_TARGET_DIR=/var/tmp/chain-target
  mkdir -p "$CARGO_TARGET_DIR"
  chmod 755 "$CARGO_TARGET_DIR"
  echo "note: $PWD is not reachable by other users; building into $CARGO_TARGET_DIR"
fi
