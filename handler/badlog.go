package handler

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/rideduration/rideduration/feature"
)

// MaxBadRecordLines bounds the "bad record" log lines of an invocation:
// the first MaxBadRecordLines bad records get a line each; if there are
// more, one "bad records" line counts them all by reason. A batch can hold
// far more bad records than any log should carry (a KPL aggregate of 1 MiB
// holds up to 174,759 user records), each of which would cost a line.
const MaxBadRecordLines = 100

// maxSummaryReasons bounds the reasons the "bad records" line names, the
// most frequent first: the others are counted together, so that the line
// stays a few kilobytes whatever the records.
const maxSummaryReasons = 10

// logBadSummary writes the "bad records" line of an invocation with more
// than MaxBadRecordLines bad records: how many, how many were logged, and
// the count of each of the maxSummaryReasons most frequent reasons (ties
// in the reasons' order), the rest in other_reasons.
func (h *Handler) logBadSummary(ctx context.Context, bad []badRecord) {
	counts := map[string]int{}
	for i := range bad {
		counts[feature.Class(bad[i].cause)]++
	}
	reasons := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	byReason, other := make(map[string]int, min(len(reasons), maxSummaryReasons)), 0
	for i, r := range reasons {
		if i < maxSummaryReasons {
			byReason[r] = counts[r]
		} else {
			other += counts[r]
		}
	}
	attrs := []any{"bad", len(bad), "logged", MaxBadRecordLines, "by_reason", byReason}
	if other > 0 {
		attrs = append(attrs, "other_reasons", other)
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, "request_id", lc.AwsRequestID)
	}
	h.log.Warn("bad records", attrs...)
}
