#!/usr/bin/env python3
# Where in a storm run the READ latency tail comes from: reads the per-READ
# log of `nbd_storm -l LOG` ("issued_us latency_us client op") and prints
# the run's p50/p99, the p99 of each client's first FIRST_OPS READs (the
# connect phase: 200 handshakes and the first READs at once) and of the
# rest, and p50/p99 per BUCKET_MS of issue time.
#
#   bench/lat_timeline.py LOG [BUCKET_MS [FIRST_OPS]]   (250, 12)
import signal
import sys

# `| head` ends the output quietly
signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * p))]


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: lat_timeline.py LOG [BUCKET_MS [FIRST_OPS]]")
    bucket_us = int(sys.argv[2] if len(sys.argv) > 2 else 250) * 1000
    first = int(sys.argv[3] if len(sys.argv) > 3 else 12)
    rows = []
    with open(sys.argv[1]) as f:
        for line in f:
            issued, lat, client, op = map(int, line.split())
            rows.append((issued, lat, client, op))
    if not rows:
        sys.exit("no READs in the log")
    lat = sorted(r[1] for r in rows)
    early = sorted(r[1] for r in rows if r[3] < first)
    rest = sorted(r[1] for r in rows if r[3] >= first)
    print("READs %d  p50 %d us  p99 %d us" % (len(lat), pct(lat, .5),
                                             pct(lat, .99)))
    print("each client's first %d READs: %d, p50 %d us, p99 %d us"
          % (first, len(early), pct(early, .5), pct(early, .99)))
    print("the other READs: %d, p50 %d us, p99 %d us"
          % (len(rest), pct(rest, .5), pct(rest, .99)))
    buckets = {}
    for r in rows:
        buckets.setdefault(r[0] // bucket_us, []).append(r[1])
    print("issued at   READs   p50 us   p99 us")
    for k in sorted(buckets):
        v = sorted(buckets[k])
        print("%7.2f s %7d %8d %8d" % (k * bucket_us / 1e6, len(v),
                                       pct(v, .5), pct(v, .99)))


main()
