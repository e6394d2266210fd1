#!/usr/bin/env bash
# scripts/torture.sh [--rounds N] [RUN...]
#
# The long torture runs of README "Torture tests", one after the other, through ./vmap (which
# builds the project on a fresh clone): each is `./vmap torture SCENARIO --rounds N` on three local
# `vmap node` processes, and ends with the line `violations: N`.
#
#   RUN is one of (default: all four, in this order)
#     kill-h2         kill -9 rounds, one shared H2 journal
#     kill-postgres   kill -9 rounds on PostgreSQL: VMAP_PG_* if VMAP_PG_HOST is set, else a private
#                     server from scripts/postgres.sh start (stopped again at the end)
#     partition       a member cut off at its Artery proxy per round (Linux: reads /proc)
#     rolling         SIGTERM and restart of each member in turn
#   --rounds N        rounds of each run (default 10)
#
# VMAP (default: the repository's ./vmap) is the command run, e.g. VMAP="java -cp ... io.vmap.runner.VmapCommand".
# Each run's output goes to target/torture/RUN.txt (and the terminal); its cluster files (member
# logs, incarnations, the history) to target/torture/RUN/. Prints a summary line per run at the
# end. Exit status 0 only if every run reported violations: 0.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/target/torture"
read -r -a VMAP_CMD <<< "${VMAP:-$ROOT/vmap}"
rounds=10
runs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds)
      [ $# -ge 2 ] || { echo "torture.sh: --rounds needs a number" >&2; exit 2; }
      rounds="$2"
      shift 2
      ;;
    kill-h2|kill-postgres|partition|rolling)
      runs+=("$1")
      shift
      ;;
    *)
      echo "torture.sh: unknown argument '$1' (runs: kill-h2 kill-postgres partition rolling; --rounds N)" >&2
      exit 2
      ;;
  esac
done
[ ${#runs[@]} -gt 0 ] || runs=(kill-h2 kill-postgres partition rolling)
case "$rounds" in ''|*[!0-9]*) echo "torture.sh: --rounds '$rounds' is not a number" >&2; exit 2 ;; esac

mkdir -p "$OUT"
started_pg=""
cleanup() {
  if [ -n "$started_pg" ]; then bash "$ROOT/scripts/postgres.sh" stop || true; fi
}
trap cleanup EXIT

summary=()
failed=0
for run in "${runs[@]}"; do
  args=()
  case "$run" in
    kill-h2) args=(kill --journal h2) ;;
    kill-postgres)
      if [ -z "${VMAP_PG_HOST:-}" ]; then
        bash "$ROOT/scripts/postgres.sh" start
        started_pg=yes
        eval "$(bash "$ROOT/scripts/postgres.sh" env)"
      fi
      args=(kill --journal postgres)
      ;;
    partition) args=(partition) ;;
    rolling) args=(rolling) ;;
  esac
  rm -rf "${OUT:?}/$run"
  echo "torture.sh: ./vmap torture ${args[*]} --rounds $rounds (load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'))" >&2
  start=$(date +%s)
  set +e
  "${VMAP_CMD[@]}" torture "${args[@]}" --rounds "$rounds" --dir "$OUT/$run" | tee "$OUT/$run.txt"
  status=${PIPESTATUS[0]}
  set -e
  took=$(( $(date +%s) - start ))
  last="$(tail -n 1 "$OUT/$run.txt" 2>/dev/null || true)"
  [ "$status" -eq 0 ] || failed=1
  summary+=("$(printf '%-14s %3s rounds  %-16s exit %d  %4d s' "$run" "$rounds" "${last:-no output}" "$status" "$took")")
done

echo
echo "torture.sh: summary (outputs in $OUT)"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$failed"
