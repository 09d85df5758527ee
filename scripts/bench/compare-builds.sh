#!/usr/bin/env bash
# Two builds of Berth side by side, the same requests to both: manifest GET by tag (ab -k, c=64)
# and manifest PUT (ab, c=16), rounds alternating which goes first. For "did this change slow
# Berth down", which the comparison with Distribution cannot answer. Each figure comes with the
# server's CPU time per request (from /proc), which varies less than the rate on a shared machine.
#   scripts/bench/compare-builds.sh OLD_CHECKOUT NEW_CHECKOUT [ROUNDS]
# Each checkout must be built (npm run build). Needs ab (apache2-utils) and curl.
# OLD_ENV and NEW_ENV add settings to one side (`NEW_ENV='BERTH_DATABASE_URL=postgres://…'`), so
# one build can be compared with itself on other stores.
set -euo pipefail
old=$1 new=$2 rounds=${3:-8}
flags="--max-semi-space-size=2 --initial-old-space-size=32 --no-concurrent-array-buffer-sweeping"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
start() { # checkout port extra-environment
  # shellcheck disable=SC2086 # the extra environment is a list of KEY=VALUE words
  env BERTH_AUTH=off BERTH_LOG_LEVEL=warn $3 node $flags "$1/bin/berth.js" serve --host 127.0.0.1 --port "$2" --data-dir "$work/$2" > "$work/$2.log" 2>&1 &
  pids+=($!)
}
start "$old" 47011 "${OLD_ENV:-}"
start "$new" 47012 "${NEW_ENV:-}"
sleep 3
config='{"architecture":"amd64","os":"linux"}'
config_digest=sha256:$(printf %s "$config" | sha256sum | cut -d' ' -f1)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}' \
  "$config_digest" "${#config}" > "$work/manifest.json"
for port in 47011 47012; do
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/octet-stream' --data-binary "$config" "http://127.0.0.1:$port/v2/acme/app/blobs/uploads/?digest=$config_digest"
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$work/manifest.json" "http://127.0.0.1:$port/v2/acme/app/manifests/v1"
done
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# ab's rate and complete requests; the server's CPU microseconds per request over the same run.
measure() { # pid ab-arguments...
  local pid=$1 before after report
  shift
  before=$(cpu_ticks "$pid")
  report=$(ab "$@" 2>/dev/null)
  after=$(cpu_ticks "$pid")
  awk -v cpu=$((after - before)) -v ticks="$ticks" '/Requests per second/{rate=$4} /Complete requests/{n=$3} END{printf "%s %d", rate, cpu * 1e6 / ticks / n}' <<< "$report"
}
echo "round build get_per_s get_cpu_us put_per_s put_cpu_us"
for round in $(seq 1 "$rounds"); do
  order="47011 47012"
  if ((round % 2 == 0)); then order="47012 47011"; fi
  for port in $order; do
    pid=${pids[$([ "$port" = 47011 ] && echo 0 || echo 1)]}
    url="http://127.0.0.1:$port/v2/acme/app/manifests/v1"
    get=$(measure "$pid" -q -k -c 64 -t 5 -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$url")
    put=$(measure "$pid" -q -k -c 16 -n 2000 -u "$work/manifest.json" -T 'application/vnd.oci.image.manifest.v1+json' "$url")
    echo "$round $([ "$port" = 47011 ] && echo old || echo new) $get $put"
  done
done
