#!/usr/bin/env bash
# startup.sh BINARY [fresh] - starts a built oauth2-server on a SQLite
# database in a temporary directory (kept between runs unless "fresh" is
# given, which makes the run a first start that generates signing keys),
# prints the milliseconds from exec to the first 200 on /ready and the
# process's memory, and stops it. Listens on 127.0.0.1:18090.
set -euo pipefail
bin=${1:?usage: startup.sh BINARY [fresh]}
dir=${TMPDIR:-/tmp}/oauth2-startup
[ "${2:-}" = fresh ] && rm -rf "$dir"
mkdir -p "$dir"
start=$(date +%s%N)
OAUTH2_ISSUER=http://127.0.0.1:18090 OAUTH2_ADDR=127.0.0.1:18090 \
OAUTH2_DATABASE_URL="sqlite:$dir/oauth2.db" \
OAUTH2_KEY_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
OAUTH2_LOG_LEVEL=warn "$bin" serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 2000); do
	if curl -sf -o /dev/null http://127.0.0.1:18090/ready; then
		end=$(date +%s%N)
		echo "ready after $(((end - start) / 1000000)) ms; $(grep -E 'VmHWM|VmRSS' /proc/$pid/status | tr -s ' \t\n' ' ')"
		exit 0
	fi
	if ! kill -0 $pid 2>/dev/null; then
		echo "the server exited; see $dir/server.log" >&2
		exit 1
	fi
	sleep 0.005
done
echo "not ready after 10 s; see $dir/server.log" >&2
exit 1
