# Sourced by scripts that test against a running server (check-api,
# test-ui). `start_demo_server SUBJECTS` builds the binary, starts
# `credence demo` on a free port over a temporary database, waits until it
# serves, and sets $work (a temporary folder, removed on exit), $demo_out
# (what the demo printed: keys and tokens) and $base (the server's URL).
start_demo_server() {
  local subjects=$1
  cargo build -q -p credence
  work=$(mktemp -d)
  demo_out="$work/demo.out"
  local credence
  credence=$(scripts/credence-bin debug)
  "$credence" demo --subjects "$subjects" --db "$work/demo.db" --listen 127.0.0.1:0 >"$demo_out" 2>"$work/demo.err" &
  server=$!
  trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 240); do
    grep -q "^Try: curl" "$demo_out" 2>/dev/null && break
    sleep 0.5
  done
  grep -q "^Try: curl" "$demo_out" || { cat "$work/demo.err"; echo "the demo server did not start"; exit 1; }
  base=$(awk '/^Serving on / {print $3; exit}' "$demo_out")
}
