#!/bin/sh
# run.sh — make bench's drop-in table: each plain pthread program given is
# run natively, then under the preload (LD_PRELOAD, the default carriers),
# and every "label: value unit" line it prints is shown side by side with
# the ratio smarm/native (the programs print costs: below 1 is smarm ahead).
#
#   run.sh /path/to/libsmarm_preload.so build/bench/dropin/prog ...
#
# Any tests/bench/dropin/*.c program that prints such lines takes part.
lib=$1
shift
printf '%-16s %-44s %12s %12s %8s  %s\n' program measure native smarm ratio unit
for p in "$@"; do
	n=$("$p") || { echo "$p failed natively" >&2; exit 1; }
	s=$(LD_PRELOAD=$lib "$p") || { echo "$p failed under the preload" >&2; exit 1; }
	{ printf '%s\n' "$n" | sed 's/^/N	/'; printf '%s\n' "$s" | sed 's/^/S	/'; } |
	awk -F '\t' -v prog="$(basename "$p")" '
		{
			i = index($2, ": "); if (!i) next
			label = substr($2, 1, i - 1); split(substr($2, i + 2), v, " ")
			if ($1 == "N") { nat[label] = v[1]; unit[label] = v[2]; order[++k] = label }
			else sm[label] = v[1]
		}
		END {
			for (j = 1; j <= k; j++) {
				l = order[j]
				r = nat[l] > 0 ? sprintf("%.3f", sm[l] / nat[l]) : "-"
				printf "%-16s %-44s %12s %12s %8s  %s\n", prog, l, nat[l], sm[l], r, unit[l]
			}
		}'
done
