#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 120) each, seeded with the event
# fixtures and the local policies, and prints how many inputs each ran.
# Needs nightly and cargo-fuzz: `rustup toolchain install nightly` and
# `cargo install cargo-fuzz`. Not part of CI: see README.md.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-120}"
events=../tests/fixtures/events
rm -rf seeds && mkdir -p seeds/decode_alarm seeds/decode_sns seeds/decode_schedule seeds/policy
cp "$events"/example-cloudwatch-alarm-*.json "$events"/example-eventbridge-alarm-*.json \
   "$events"/invalid/alarm-*.json "$events"/invalid/not-an-alarm.json seeds/decode_alarm/
cp "$events"/example-sns-*.json "$events"/invalid/sns-*.json seeds/decode_sns/
cp "$events"/example-scheduler-*.json "$events"/example-eventbridge-scheduled-*.json \
   "$events"/invalid/schedule*.json seeds/decode_schedule/
cp ../tests/local/*.toml seeds/policy/
for target in decode_alarm decode_sns decode_schedule policy; do
    mkdir -p "corpus/$target"
    dictionary=()
    [[ "$target" == decode_* ]] && dictionary=(-dict=json.dict)
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -max_len=65536 "${dictionary[@]}" 2>&1 | tee "corpus/$target.log" | grep -E "^Done|DONE|ERROR|panicked" || true
done
