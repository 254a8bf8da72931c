package kinesisevent

import (
	"github.com/aws/aws-lambda-go/events"

	"github.com/rideduration/rideduration/wire"
)

// Response is what the function returns to the invocation of a Kinesis
// event: the original's predictions list plus the partial-batch field of
// ReportBatchItemFailures, which the event-source mapping reads. Neither is
// ever null in its JSON.
type Response struct {
	Predictions       []wire.PredictionEvent           `json:"predictions"`
	BatchItemFailures []events.KinesisBatchItemFailure `json:"batchItemFailures"`
}

// responseFrame is the JSON of a response but for its predictions and
// failures; failureFrame that of a failure but for its sequence number.
const (
	responseFrame = len(`{"predictions":[],"batchItemFailures":[]}`)
	failureFrame  = len(`{"itemIdentifier":}`)
)

// Size is the length of AppendJSON's output, given the number of
// predictions and the length of their JSON, end to end.
func (r Response) Size(predictions, predictionBytes int) int {
	n := responseFrame + predictionBytes + max(predictions-1, 0) + max(len(r.BatchItemFailures)-1, 0)
	for _, f := range r.BatchItemFailures {
		n += failureFrame + len(wire.AppendString(nil, f.ItemIdentifier))
	}
	return n
}

// AppendJSON appends the response as json.Marshal writes it, given the
// JSON of each of its predictions, in order: json(p) for each p of
// predictions (a function without captures, so that nothing is allocated).
func AppendJSON[P any](b []byte, r Response, predictions []P, json func(P) []byte) []byte {
	b = append(b, `{"predictions":[`...)
	for i, p := range predictions {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, json(p)...)
	}
	b = append(b, `],"batchItemFailures":[`...)
	for i, f := range r.BatchItemFailures {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendString(append(b, `{"itemIdentifier":`...), f.ItemIdentifier)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
