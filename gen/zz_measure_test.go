package gen

import (
	"os"
	"testing"
	"time"

	"github.com/rideduration/rideduration/export"
)

func TestZZMeasure(t *testing.T) {
	path := os.Getenv("MEASURE_EXPORT")
	if path == "" {
		t.Skip()
	}
	start := time.Now()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := export.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load %v", time.Since(start))
	start = time.Now()
	nodes := 0
	for i := range e.Trees {
		nodes += e.Trees[i].Nodes()
	}
	m := &model{Ensemble: e, opts: DefaultOptions, cols: e.Columns()}
	m.opts.MaxTableBytes = 1
	tb, why := m.table()
	t.Logf("table %v: nodes %d: %s", time.Since(start), nodes, why)
	if tb != nil && tb.rag != nil {
		t.Logf("ragged: bounds %d cells %d distinct %d text %d, dense %d ragged %d", len(tb.rag.bounds), tb.rag.cells(), tb.distinct, tb.textBytes, tb.denseBytes(), tb.raggedBytes(tb.rag))
	} else if tb != nil {
		t.Logf("dense: distinct %d dense %d ragged %d", tb.distinct, tb.denseBytes(), tb.raggedBytes(tb.ragged(m)))
	}
}
