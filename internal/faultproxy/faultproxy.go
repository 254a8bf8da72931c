// Package faultproxy is an HTTP proxy for tests that sits between a Kinesis
// client and a local Kinesis (moto_server) on 127.0.0.1 and injects the
// faults real Kinesis produces and moto never does: PutRecords entries
// failed while the call succeeds, throttled calls (HTTP 400), server errors
// (HTTP 500), responses lost after the work was done, slow calls, and a
// stream that is unavailable for a while.
//
// Kinesis speaks JSON 1.1 over HTTP (X-Amz-Target: Kinesis_20131202.<Op>,
// a JSON body, record data in base64), so the proxy can read every call.
// For a PutRecords call it forwards only the entries that survive and
// rebuilds the response: one result per request entry, in request order,
// the injected ones with an ErrorCode and ErrorMessage, and the right
// FailedRecordCount. Error responses carry the status, the
// x-amzn-ErrorType header and the {"__type", "message"} body Kinesis sends,
// so that the AWS SDK classifies them as it would Kinesis's own (a
// throttle, a retryable 5xx).
//
// Rewriting a request body breaks its SigV4 signature, which covers the
// body's hash. moto_server does not verify signatures (it authenticates
// only when INITIAL_NO_AUTH_ACTION_COUNT is set, which the tests never do),
// so forwarding a rewritten body is fine there; this proxy could not front
// real Kinesis.
package faultproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Faults are the faults injected into the calls of one Kinesis operation.
// Rates are probabilities in [0, 1], drawn independently for each call (and
// for each PutRecords entry).
type Faults struct {
	// EntryFailure (PutRecords only) fails an entry while the call
	// succeeds: the entry is not forwarded and its result is
	// ProvisionedThroughputExceededException (9 in 10) or InternalFailure,
	// the two codes Kinesis gives.
	EntryFailure float64
	// Throttle answers a call HTTP 400 ProvisionedThroughputExceededException
	// or LimitExceededException (one in two each) without forwarding it.
	Throttle float64
	// ServerError answers a call HTTP 500 InternalFailure without
	// forwarding it.
	ServerError float64
	// LostResponse forwards a call, then answers HTTP 500 InternalFailure
	// anyway: Kinesis did the work, the client cannot know it.
	LostResponse float64
	// Delay holds a call for a uniform time in [0, MaxDelay) before it is
	// answered or forwarded.
	Delay    float64
	MaxDelay time.Duration
}

// Stats counts one operation's calls and what was done to them.
type Stats struct {
	Calls         int // calls received
	Forwarded     int // calls that reached moto
	Throttled     int // HTTP 400 throttling
	ServerErrors  int // HTTP 500, not forwarded
	LostResponses int // HTTP 500 after forwarding
	Unavailable   int // HTTP 503 while the stream was down
	Delayed       int
	Entries       int // PutRecords entries received
	EntriesFailed int // PutRecords entries failed by the proxy
	// SequenceReused counts PutRecords results in which moto acknowledged
	// a record with a sequence number it had already given another record
	// of the shard: that record overwrote the other one.
	SequenceReused int
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL string // the endpoint to give clients: http://127.0.0.1:port

	mu     sync.Mutex
	rng    *rand.Rand
	faults map[string]Faults // by operation name, e.g. "PutRecords"
	down   map[string]bool   // stream names
	stats  map[opStream]*Stats
	target *url.URL
	next   http.RoundTripper
	acked  map[string]bool // shard id + sequence number, of every record moto acknowledged
	// motoLock keeps moto's races out of the tests. Its Shard.put_record
	// "is not safe for concurrency" (its own comment): two PutRecords calls
	// landing on one shard at once can be given the same sequence number,
	// and the second record overwrites the first, a write acknowledged and
	// lost that real Kinesis never does (seen in the soak with two
	// ride_events shards, hence two handler invocations writing at once:
	// Stats.SequenceReused counts it). And a GetRecords iterating a shard
	// while a record is added fails with HTTP 500 ("OrderedDict mutated
	// during iteration"). So writes are forwarded one at a time, and not
	// while a read is; reads run together.
	motoLock sync.RWMutex
}

// Start runs a proxy in front of target (moto_server's endpoint) on
// 127.0.0.1 and stops it when the test ends. seed makes the faults'
// draws reproducible (their order still depends on the calls' order).
// It injects nothing until told with Set or SetDown.
func Start(t testing.TB, target string, seed uint64) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("faultproxy: target %q: %v", target, err)
	}
	p := &Proxy{
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		faults: map[string]Faults{},
		down:   map[string]bool{},
		stats:  map[opStream]*Stats{},
		acked:  map[string]bool{},
		target: u,
		next:   http.DefaultTransport,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // the Host the client signed
		},
		Transport: p,
		// A client that gives up on a call (its deadline) is no news: answer
		// 502 without logging.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	srv := httptest.NewServer(rp) // binds 127.0.0.1:0
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Set sets the faults of operation op ("PutRecords", "GetRecords", ...).
func (p *Proxy) Set(op string, f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[op] = f
}

// SetDown makes stream unavailable (every call naming it, by StreamName or
// StreamARN, is answered HTTP 503 ServiceUnavailable) or available again.
func (p *Proxy) SetDown(stream string, down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down[stream] = down
}

// opStream is an operation on a stream ("" when the call names none).
type opStream struct{ op, stream string }

// Stats returns the counts of every operation seen so far, all streams
// together.
func (p *Proxy) Stats() map[string]Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]Stats{}
	for k, s := range p.stats {
		out[k.op] = out[k.op].add(*s)
	}
	return out
}

// StreamStats returns the counts of operation op on stream.
func (p *Proxy) StreamStats(op, stream string) Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.stats[opStream{op, stream}]; s != nil {
		return *s
	}
	return Stats{}
}

func (s Stats) add(o Stats) Stats {
	return Stats{s.Calls + o.Calls, s.Forwarded + o.Forwarded, s.Throttled + o.Throttled, s.ServerErrors + o.ServerErrors,
		s.LostResponses + o.LostResponses, s.Unavailable + o.Unavailable, s.Delayed + o.Delayed,
		s.Entries + o.Entries, s.EntriesFailed + o.EntriesFailed, s.SequenceReused + o.SequenceReused}
}

// call is what was decided for one call.
type call struct {
	op, stream string
	faults     Faults
	delay      time.Duration
	answer     int    // HTTP status to answer without forwarding; 0: forward
	code       string // its error code
	lost       bool   // forward, then answer 500
}

// decide draws the call's fate.
func (p *Proxy) decide(op, stream string) call {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats[opStream{op, stream}]
	if st == nil {
		st = &Stats{}
		p.stats[opStream{op, stream}] = st
	}
	st.Calls++
	f := p.faults[op]
	c := call{op: op, stream: stream, faults: f}
	if f.Delay > 0 && f.MaxDelay > 0 && p.rng.Float64() < f.Delay {
		c.delay = time.Duration(p.rng.Int64N(int64(f.MaxDelay)))
		st.Delayed++
	}
	switch {
	case stream != "" && p.down[stream]:
		c.answer, c.code = http.StatusServiceUnavailable, "ServiceUnavailable"
		st.Unavailable++
	case p.rng.Float64() < f.Throttle:
		c.answer, c.code = http.StatusBadRequest, "ProvisionedThroughputExceededException"
		if p.rng.IntN(2) == 0 {
			c.code = "LimitExceededException"
		}
		st.Throttled++
	case p.rng.Float64() < f.ServerError:
		c.answer, c.code = http.StatusInternalServerError, "InternalFailure"
		st.ServerErrors++
	case p.rng.Float64() < f.LostResponse:
		c.lost = true
		st.LostResponses++
	}
	return c
}

// failEntries draws which of n PutRecords entries fail, and how: the error
// code of each failed entry, "" for the others.
func (p *Proxy) failEntries(stream string, f Faults, n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	codes := make([]string, n)
	st := p.stats[opStream{"PutRecords", stream}]
	st.Entries += n
	for i := range codes {
		if p.rng.Float64() < f.EntryFailure {
			codes[i] = "ProvisionedThroughputExceededException"
			if p.rng.IntN(10) == 0 {
				codes[i] = "InternalFailure"
			}
			st.EntriesFailed++
		}
	}
	return codes
}

// RoundTrip is the proxy's transport: it injects the call's faults and
// forwards what survives to moto.
func (p *Proxy) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields) // not JSON: forwarded as is, moto answers
	c := p.decide(op, streamName(fields))
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	if c.answer != 0 {
		return errorResponse(req, c.answer, c.code, message(c.code, c.stream)), nil
	}
	if op == "PutRecords" {
		return p.putRecords(req, c, fields)
	}
	return p.forward(req, c, body)
}

// forward sends body on to moto; a lost response is read and replaced by a
// 500.
func (p *Proxy) forward(req *http.Request, c call, body []byte) (*http.Response, error) {
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	p.mu.Lock()
	p.stats[opStream{c.op, c.stream}].Forwarded++
	p.mu.Unlock()
	// moto answers once it has done the work: the headers come last.
	if c.op == "PutRecords" || c.op == "PutRecord" {
		p.motoLock.Lock()
		defer p.motoLock.Unlock()
	} else {
		p.motoLock.RLock()
		defer p.motoLock.RUnlock()
	}
	resp, err := p.next.RoundTrip(req)
	if err != nil || !c.lost {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return errorResponse(req, http.StatusInternalServerError, "InternalFailure", message("InternalFailure", c.stream)), nil
}

// putRecords forwards the surviving entries of a PutRecords call and
// answers for all of them, in request order.
func (p *Proxy) putRecords(req *http.Request, c call, fields map[string]json.RawMessage) (*http.Response, error) {
	var records []json.RawMessage
	if err := json.Unmarshal(fields["Records"], &records); err != nil {
		return nil, fmt.Errorf("faultproxy: PutRecords without a Records list: %w", err)
	}
	codes := p.failEntries(c.stream, c.faults, len(records))
	var survivors []json.RawMessage
	for i, r := range records {
		if codes[i] == "" {
			survivors = append(survivors, r)
		}
	}

	// What moto says of the survivors: one result each, in order.
	var upstream []json.RawMessage
	upstreamFailed := 0
	out := map[string]json.RawMessage{}
	if len(survivors) > 0 {
		fields["Records"] = mustJSON(survivors)
		req.Header.Del("Accept-Encoding") // let the transport undo any compression
		resp, err := p.forward(req, c, mustJSON(fields))
		if err != nil || resp.StatusCode != http.StatusOK {
			return resp, err // moto's own error, or a lost response: as is
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("faultproxy: PutRecords response %q: %w", b, err)
		}
		if err := json.Unmarshal(out["Records"], &upstream); err != nil || len(upstream) != len(survivors) {
			return nil, fmt.Errorf("faultproxy: PutRecords response has %d results for %d entries: %s", len(upstream), len(survivors), b)
		}
		_ = json.Unmarshal(out["FailedRecordCount"], &upstreamFailed)
		p.ack(c.stream, upstream)
	}

	results := make([]json.RawMessage, len(records))
	failed := upstreamFailed
	for i := range records {
		if codes[i] == "" {
			results[i], upstream = upstream[0], upstream[1:]
			continue
		}
		failed++
		results[i] = mustJSON(map[string]string{"ErrorCode": codes[i], "ErrorMessage": message(codes[i], c.stream)})
	}
	out["Records"] = mustJSON(results)
	out["FailedRecordCount"] = mustJSON(failed)
	return jsonResponse(req, http.StatusOK, mustJSON(out), nil), nil
}

// ack records the sequence numbers moto acknowledged, and counts those it
// gave twice.
func (p *Proxy) ack(stream string, results []json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range results {
		var e struct{ SequenceNumber, ShardId string }
		if json.Unmarshal(r, &e) != nil || e.SequenceNumber == "" {
			continue
		}
		k := stream + "/" + e.ShardId + "/" + e.SequenceNumber
		if p.acked[k] {
			p.stats[opStream{"PutRecords", stream}].SequenceReused++
		}
		p.acked[k] = true
	}
}

// streamName is the stream a call names, by StreamName or StreamARN;
// "" for calls that name none (GetRecords names only a shard iterator).
func streamName(fields map[string]json.RawMessage) string {
	var name, arn string
	_ = json.Unmarshal(fields["StreamName"], &name)
	_ = json.Unmarshal(fields["StreamARN"], &arn)
	if name == "" {
		if i := strings.LastIndex(arn, ":stream/"); i >= 0 {
			name = arn[i+len(":stream/"):]
		}
	}
	return name
}

// message is the error message Kinesis gives with code.
func message(code, stream string) string {
	switch code {
	case "ProvisionedThroughputExceededException":
		return fmt.Sprintf("Rate exceeded for shard shardId-000000000000 in stream %s under account 123456789012.", stream)
	case "LimitExceededException":
		return fmt.Sprintf("Rate exceeded for stream %s under account 123456789012.", stream)
	case "ServiceUnavailable":
		return "Service is unavailable. Retry the request."
	default:
		return "Internal service failure."
	}
}

// errorResponse is a JSON 1.1 error as Kinesis sends it.
func errorResponse(req *http.Request, status int, code, msg string) *http.Response {
	body := mustJSON(map[string]string{"__type": code, "message": msg})
	return jsonResponse(req, status, body, http.Header{"X-Amzn-Errortype": {code + ":"}})
}

func jsonResponse(req *http.Request, status int, body []byte, h http.Header) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-Requestid", fmt.Sprintf("faultproxy-%016x", rand.Uint64()))
	return &http.Response{
		StatusCode:    status,
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // unreachable: maps, slices, strings and numbers only
	}
	return b
}
