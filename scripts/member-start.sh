#!/usr/bin/env bash
# member-start.sh [JVM_OPTION...]: how long one `vmap node` takes to start, and what it costs.
#
# Starts one member of cluster-config/three-local.conf on free ports with its own H2 journal (a
# fresh temporary --data-dir) and its own address as the only seed, with the JVM options the
# multi-process tests give their members plus any given here, waits until /health/ready answers
# 200, prints the wall time and the process's CPU time at that moment, then stops it (SIGTERM).
# It runs from the jars (node-runner's jar and target/lib), as a class archive needs:
#
#   scripts/member-start.sh                                       # as the members start by default
#   scripts/member-start.sh -XX:ArchiveClassesAtExit=/tmp/m.jsa   # writes an archive when it stops
#   scripts/member-start.sh -XX:SharedArchiveFile=/tmp/m.jsa      # starts from it
#
# Build first: mvn -B -q package -pl node-runner -am -DskipTests (or any ./vmap command).
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$home/node-runner/target"
jar="$(ls "$target"/vmap-node-runner-*.jar 2>/dev/null | head -1)"
[ -n "$jar" ] || { echo "member-start.sh: no node-runner jar in $target; build first" >&2; exit 1; }
cp="$jar:$(ls "$target"/lib/*.jar | paste -sd:)"
# A port nothing listens on: connecting to it is refused.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
port=$(free_port); http=$(free_port)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/member.conf" <<EOF
include file("$home/cluster-config/three-local.conf")
akka.cluster.seed-nodes = ["akka://vmap@127.0.0.1:$port"]
EOF
t0=$(date +%s%N)
java -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.util.concurrent.ForkJoinPool.common.parallelism=4 "$@" \
  -Dlogback.configurationFile=logback.xml -cp "$cp" io.vmap.runner.VmapCommand node --config "$work/member.conf" \
  --port "$port" --http-port "$http" --data-dir "$work/data" > "$work/member.log" 2>&1 &
pid=$!
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/health/ready")" = 200 ]; do
  kill -0 "$pid" 2>/dev/null || { echo "member-start.sh: the member exited:" >&2; tail -20 "$work/member.log" >&2; exit 1; }
  sleep 0.1
done
t1=$(date +%s%N)
read -r -a stat < "/proc/$pid/stat"
ticks=$(getconf CLK_TCK)
awk -v w="$(( (t1 - t0) / 1000000 ))" -v u="${stat[13]}" -v s="${stat[14]}" -v t="$ticks" \
  'BEGIN { printf "ready after %.2f s, %.2f s of CPU\n", w / 1000, (u + s) / t }'
kill "$pid"
wait "$pid" 2>/dev/null || true
