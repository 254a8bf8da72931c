package gen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/flat"
	"github.com/rideduration/rideduration/lookup"
)

// ragged is the table with each key class's own distance intervals: the
// thresholds of the distance splits its key reaches, less those where the
// prediction does not change. A big forest's key classes each reach a part of
// the trees, so the ragged table is a fraction of classes × every interval;
// Predict then searches the class's own thresholds.
type ragged struct {
	// Class c's thresholds are bounds[start[c]:start[c+1]], ascending (in
	// the input type); its intervals' predictions are
	// values[start[c]+c : start[c+1]+c+1].
	start  []uint32
	bounds []float64
	values []float64
}

// preferRagged reports whether the ragged table of rag bytes serves in
// place of a full table of dense bytes that fits the bound: the full table
// is the faster (a bucket and a short ladder over thresholds every class
// shares, where the ragged table halves each class's own: 2.4 to 7 times
// slower, docs/model.md), so it serves unless it is more than RaggedFloor
// bytes, where its size is what the function's binary takes unzipped and
// maps as it serves (zipped, the two hardly differ), and more than
// RaggedFactor times the ragged table.
func (o *Options) preferRagged(dense, rag int) bool {
	return o.RaggedFactor > 0 && dense > o.RaggedFloor && float64(dense) > o.RaggedFactor*float64(rag)
}

// raggedWhy says why the ragged table serves, for the package comment.
func (o *Options) raggedWhy(dense, rag int) string {
	if dense > o.MaxTableBytes {
		return fmt.Sprintf("above the %d-byte bound", o.MaxTableBytes)
	}
	return fmt.Sprintf("%.2f times as much: the faster full table serves only up to %g times and %d bytes", float64(dense)/float64(rag), o.RaggedFactor, o.RaggedFloor)
}

// fullWhy says, for the package comment, why the full table of dense bytes
// serves rather than each class's own intervals, of rag: "" when any full
// table that fits serves.
func (o *Options) fullWhy(dense, rag int) string {
	if o.RaggedFactor == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d bytes; each class's own intervals would take %d: the faster full table serves up to %g times that or %d bytes)", dense, rag, o.RaggedFactor, o.RaggedFloor)
}

// cells is the number of (class, interval) predictions the ragged table holds.
func (r *ragged) cells() int { return len(r.values) }

// row is one class's thresholds and predictions.
type row struct {
	bounds []float64
	values []float64
}

// ragged evaluates the ensemble over each class's own intervals, the classes
// taken in parallel, over the trees as package flat lays them out: every
// split decided once (thresholds in the input type, where a category goes).
func (t *table) ragged(m *model) *ragged {
	rt := &rankedTrees{Trees: m.flatTrees(), thresholds: t.thresholds}
	rt.chains()
	rt.rank = make([]int32, len(rt.Ops))
	for n, op := range rt.Ops {
		if op&flat.OpMask == flat.Distance {
			i, found := slices.BinarySearch(t.thresholds, zeroed(rt.Value[n]))
			if !found {
				panic(fmt.Sprintf("gen: distance threshold %v is not among the table's", rt.Value[n]))
			}
			rt.rank[n] = int32(i)
		}
	}
	// Each worker takes classBlock classes at a time and walks each tree for
	// all of them before the next tree: the tree's nodes stay in cache.
	const classBlock = 16
	rows := make([]row, t.classes())
	all := int32(len(t.thresholds))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			walks := make([]classWalk, classBlock)
			for i := range walks {
				walks[i].seen = make([]uint64, (len(t.thresholds)+63)/64)
			}
			scratch := rowScratch{pos: make([]int32, len(t.thresholds)+2)}
			for first := range next {
				block := walks[:min(classBlock, len(rows)-first)]
				for i := range block {
					block[i].in, block[i].leaves = m.flatInput(t.reps[first+i]), block[i].leaves[:0]
					rt.hotFor(&block[i])
				}
				for _, root := range rt.Roots {
					for i := range block {
						block[i].reach(rt, root, -1, all)
					}
				}
				for i := range block {
					rows[first+i] = m.classRow(rt, &block[i], &scratch)
				}
			}
		}()
	}
	for first := 0; first < len(rows); first += classBlock {
		next <- first
	}
	close(next)
	wg.Wait()
	cells := 0
	for _, rw := range rows {
		cells += len(rw.values)
	}
	r := &ragged{start: make([]uint32, 0, len(rows)+1), bounds: make([]float64, 0, cells-len(rows)),
		values: make([]float64, 0, cells)}
	for c, rw := range rows {
		r.start = append(r.start, uint32(len(r.bounds)))
		r.bounds = append(r.bounds, rw.bounds...)
		r.values = append(r.values, rw.values...)
		rows[c] = row{} // copied: the collector may take it
	}
	r.start = append(r.start, uint32(len(r.bounds)))
	return r
}

// rankedTrees are the flat trees with each distance split's rank among the
// ensemble's distinct distance thresholds (ascending, -0 as +0): a class's
// walk records ranks, which sort and index as integers.
//
// They also hold the chains of category splits: from a split on a
// category (PU_DO, PULocationID or DOLocationID), the splits a ride of
// none of their categories goes through, one after the other, until a node
// of another kind, coldEnd. Unpruned trees over thousands of categories
// have long chains, and a class's key is the category of a few of their
// splits at most: its walk goes from a chain's split to the end at once,
// or to the first split where its key is hot.
type rankedTrees struct {
	*flat.Trees
	thresholds []float64
	rank       []int32 // per node: thresholds[rank[n]] is a distance split's threshold
	// Per category split: the node a ride of no category on its chain
	// reaches, and the chain's first split.
	coldEnd, chain []int32
	// The category splits of each category, by op and category (the
	// node's Value bits), in preorder.
	splitsOf [3]map[uint64][]int32
}

// categoryOp reports whether op splits on a category, and which: 0 for
// PU_DO, 1 for PULocationID, 2 for DOLocationID.
func categoryOp(op flat.Op) (int, bool) {
	switch op & flat.OpMask {
	case flat.Key:
		return 0, true
	case flat.PUID:
		return 1, true
	case flat.DOID:
		return 2, true
	}
	return 0, false
}

// chains finds each category split's chain and where it ends, and the
// splits of each category.
func (rt *rankedTrees) chains() {
	nodes := len(rt.Ops)
	rt.coldEnd, rt.chain = make([]int32, nodes), make([]int32, nodes)
	for i := range rt.splitsOf {
		rt.splitsOf[i] = map[uint64][]int32{}
	}
	cold := func(n int) int32 {
		if rt.Ops[n]&flat.ColdLeft != 0 {
			return int32(n + 1)
		}
		return rt.Right[n]
	}
	// Children come after their parent: from the last node back, a
	// split's cold child has its end already.
	for n := nodes - 1; n >= 0; n-- {
		if _, ok := categoryOp(rt.Ops[n]); ok {
			c := cold(n)
			rt.coldEnd[n] = c
			if _, ok := categoryOp(rt.Ops[c]); ok {
				rt.coldEnd[n] = rt.coldEnd[c]
			}
		}
	}
	// From the first node on, a split that is not its parent's cold child
	// starts a chain.
	for n := range nodes {
		rt.chain[n] = -1
	}
	for n := range nodes {
		i, ok := categoryOp(rt.Ops[n])
		if !ok {
			continue
		}
		if rt.chain[n] < 0 {
			rt.chain[n] = int32(n)
		}
		if c := cold(n); c < int32(nodes) {
			if _, ok := categoryOp(rt.Ops[c]); ok {
				rt.chain[c] = rt.chain[n]
			}
		}
		bits := math.Float64bits(rt.Value[n])
		rt.splitsOf[i][bits] = append(rt.splitsOf[i][bits], int32(n))
	}
}

// hotFor records in w the splits where its key is hot, by chain, each
// chain's in preorder: the order they come in along it.
func (rt *rankedTrees) hotFor(w *classWalk) {
	if w.hot == nil {
		w.hot = map[int32][]int32{}
	}
	clear(w.hot)
	for i, category := range [3]uint64{w.in.Key, uint64(uint32(w.in.PU)), uint64(uint32(w.in.DO))} {
		for _, n := range rt.splitsOf[i][category] {
			w.hot[rt.chain[n]] = append(w.hot[rt.chain[n]], n)
		}
	}
	for _, splits := range w.hot {
		slices.Sort(splits)
	}
}

// categorySplit returns where the walk of w goes from n, a split on a
// category: the hot child of the first split on n's chain, from n, where
// w's key is hot, or the chain's end.
func (rt *rankedTrees) categorySplit(w *classWalk, n int32) int32 {
	for _, h := range w.hot[rt.chain[n]] {
		if h >= n {
			if rt.Ops[h]&flat.HotLeft != 0 {
				return h + 1
			}
			return rt.Right[h]
		}
	}
	return rt.coldEnd[n]
}

// zeroed is th with -0 as +0: the same split, and one order for the
// search's integer keys.
func zeroed(th float64) float64 {
	if th == 0 {
		return 0
	}
	return th
}

// flatInput is key k as the flat trees read it, at no distance.
func (m *model) flatInput(k feature.Key) flat.Input {
	return flat.Input{Key: flat.Pack(k.PU, k.DO), PU: k.PU, DO: k.DO,
		Number: [4]float64{flat.PU: m.Input(float64(k.PU)), flat.DO: m.Input(float64(k.DO))}}
}

// next returns the child that split n of ft sends in to, n not a distance
// split nor a leaf.
func next(ft *flat.Trees, n int32, in *flat.Input) int32 {
	op := ft.Ops[n]
	var left bool
	switch op & flat.OpMask {
	case flat.PU, flat.DO:
		left = in.Number[op&flat.OpMask] <= ft.Value[n]
	default:
		left = in.CategoryLeft(op, ft.Value[n])
	}
	if left {
		return n + 1
	}
	return ft.Right[n]
}

// reached is a leaf key k reaches and the distances that reach it: those
// above threshold lo and up to threshold hi, as ranks among the ensemble's
// thresholds (-1 when no split bounds them below, len(thresholds) above).
type reached struct {
	lo, hi int32
	value  float64
}

// classWalk is the walk of one class's key through the trees: the leaves
// it reaches with their distance ranges, in tree order, and the thresholds
// of the distance splits it reaches, a bit per rank.
type classWalk struct {
	in     flat.Input
	seen   []uint64
	leaves []reached
	hot    map[int32][]int32 // by chain, the category splits where the key is hot
}

// reach walks the subtree at n with the distances above threshold lo and
// up to hi (ranks), recording the leaves and thresholds they reach.
func (w *classWalk) reach(rt *rankedTrees, n, lo, hi int32) {
	for {
		switch rt.Ops[n] & flat.OpMask {
		case flat.Leaf:
			w.leaves = append(w.leaves, reached{lo: lo, hi: hi, value: rt.Value[n]})
			return
		case flat.Distance:
			th := rt.rank[n]
			if th < lo || th >= hi {
				// Every distance that reaches here goes one way: no
				// threshold to record.
				if th < lo {
					n = rt.Right[n]
				} else {
					n++
				}
				continue
			}
			w.seen[th>>6] |= 1 << (th & 63)
			w.reach(rt, n+1, lo, th)
			n, lo = rt.Right[n], th
		case flat.Key, flat.PUID, flat.DOID:
			n = rt.categorySplit(w, n)
		default:
			n = next(rt.Trees, n, &w.in)
		}
	}
}

// classRow evaluates the ensemble for a class at every distance, from its
// walk through every tree: the thresholds of the distance splits its key
// reaches, the prediction in each interval between them, and then only the
// thresholds where the prediction changes. scratch holds memory from one
// call to the next.
func (m *model) classRow(rt *rankedTrees, w *classWalk, scratch *rowScratch) row {
	seen, leaves, all := w.seen, w.leaves, int32(len(rt.thresholds))
	// The ranks reached, ascending, once each; seen is cleared for the next class.
	ths := scratch.ths[:0]
	for w, word := range seen {
		for word != 0 {
			ths = append(ths, int32(w<<6+bits.TrailingZeros64(word)))
			word &= word - 1
		}
		seen[w] = 0
	}
	values := slices.Grow(scratch.values[:0], len(ths)+1)[:len(ths)+1]
	for i := range values {
		values[i] = m.Combine.Base
	}
	// Interval i holds the distances above ths[i-1] and up to ths[i]: a
	// leaf reached from above lo up to hi adds to the intervals after lo's
	// up to hi's. Leaves in tree order: every entry is summed in the
	// library's order. pos[r+1] is the index in ths of the threshold of
	// rank r, -1 for no bound below and len(ths) for none above.
	pos := scratch.pos
	pos[0], pos[all+1] = -1, int32(len(ths))
	for i, r := range ths {
		pos[r+1] = int32(i)
	}
	if c := &m.Combine; c.Sum == export.Float64 && c.Scale == 1 {
		// Add is s + leaf: the loop the compiler keeps tight.
		for _, l := range leaves {
			span := values[pos[l.lo+1]+1 : pos[l.hi+1]+1]
			for i := range span {
				span[i] += l.value
			}
		}
	} else {
		for _, l := range leaves {
			for i := pos[l.lo+1] + 1; i <= pos[l.hi+1]; i++ {
				values[i] = c.Add(values[i], l.value)
			}
		}
	}
	for i := range values {
		values[i] = m.end(values[i])
	}
	// Keep a threshold only where the prediction changes across it (kept
	// overwrites values from the start, never ahead of the one it reads).
	kept := values[:1]
	for i := range ths {
		if math.Float64bits(values[i+1]) != math.Float64bits(kept[len(kept)-1]) {
			ths[len(kept)-1] = ths[i]
			kept = append(kept, values[i+1])
		}
	}
	bounds := make([]float64, len(kept)-1)
	for i, r := range ths[:len(bounds)] {
		bounds[i] = rt.thresholds[r]
	}
	scratch.ths, scratch.values = ths, values
	return row{bounds: bounds, values: slices.Clone(kept)}
}

// rowScratch is classRow's memory, reused.
type rowScratch struct {
	ths    []int32 // ranks of the thresholds a class reaches, ascending
	pos    []int32 // index in ths of each rank, shifted by one
	values []float64
}

// texts is each distinct prediction's JSON text, as encoding/json writes it,
// end to end, and where each starts (and the last ends).
func texts(values []float64) ([]byte, []uint32, error) {
	var text []byte
	textOff := []uint32{0}
	for _, v := range values {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, nil, fmt.Errorf("prediction %v: %w", v, err)
		}
		text = append(text, b...)
		textOff = append(textOff, uint32(len(text)))
	}
	return text, textOff, nil
}

// count records the distinct predictions among values and their text's length.
func (t *table) count(values []float64) {
	seen := map[uint64]bool{}
	for _, v := range values {
		if !seen[math.Float64bits(v)] {
			seen[math.Float64bits(v)] = true
			b, _ := json.Marshal(v) // a prediction is finite: export.Check
			t.textBytes += len(b)
		}
	}
	t.distinct = len(seen)
}

// sizer counts the bytes of a blob that lookup.Append lays out.
type sizer int

// add counts n numbers of size bytes, after the padding Append puts before them.
func (s *sizer) add(n, size int) {
	*s = sizer((int(*s)+size-1)/size*size + n*size)
}

// width is the bytes of an array element that holds every number up to most,
// as narrow stores it.
func width(most int) int {
	if most > math.MaxUint16 {
		return 4
	}
	return 2
}

// denseBytes is what layout stores for the full table: every array and the
// text, as laid out.
func (t *table) denseBytes() int {
	var s sizer
	s.add(t.distinct, 8)
	s.add(t.searchSize(), t.keyBits()/8)
	s.add(t.distinct+1, 4)
	s.add(1<<bucketBits, width(len(t.thresholds)))
	s.add(t.stride*t.stride, width(t.classes()-1))
	s.add(t.classes()*t.intervals(), width(t.distinct-1))
	return int(s) + t.textBytes
}

// raggedBytes is what raggedLayout stores for r.
func (t *table) raggedBytes(r *ragged) int {
	var s sizer
	s.add(t.distinct, 8)
	s.add(len(r.bounds), t.keyBits()/8)
	s.add(len(r.start), 4)
	s.add(t.distinct+1, 4)
	s.add(t.stride*t.stride, width(t.classes()-1))
	s.add(r.cells(), width(t.distinct-1))
	return int(s) + t.textBytes
}

// raggedLayout lays out the ragged table: its distinct values and cells
// (lookup.NewTable), each class's threshold keys and where they start, and
// each value's JSON text.
func (t *table) raggedLayout() (*tableLayout, error) {
	r := t.rag
	tb, err := lookup.NewTable[uint32](r.values)
	if err != nil {
		return nil, err
	}
	text, textOff, err := texts(tb.Values)
	if err != nil {
		return nil, err
	}
	l := &tableLayout{values: len(tb.Values), bounds: len(r.bounds)}
	var blob []byte
	blob, l.valuesAt = lookup.Append(blob, tb.Values)
	if t.wide {
		keys := make([]uint64, len(r.bounds))
		for i, th := range r.bounds {
			keys[i] = lookup.Order64(th)
		}
		blob, l.searchAt = lookup.Append(blob, keys)
	} else {
		keys := make([]uint32, len(r.bounds))
		for i, th := range r.bounds {
			keys[i] = lookup.Order(float32(th))
		}
		blob, l.searchAt = lookup.Append(blob, keys)
	}
	blob, l.startAt = lookup.Append(blob, r.start)
	blob, l.textOffAt = lookup.Append(blob, textOff)
	l.end(blob, t.keyClass, tb.Cells, text)
	return l, nil
}

// writeRagged writes table.go and its test for the ragged table l lays out.
func (m *model) writeRagged(files Files, t *table, l *tableLayout) error {
	f := m.newFile()
	f.Anon("embed")
	guard(f, lookupPkg, lookup.Layout)
	f.Comment(fmt.Sprintf("The table holds the model's prediction for each of %d key classes at every", t.classes()))
	f.Comment("distance. A key class is a set of keys (PU, DO) that every split on the key")
	f.Comment("treats alike. Each class has its own intervals: class c's thresholds are")
	f.Comment("search[start[c]:start[c+1]], the distance thresholds its key reaches where the")
	f.Comment(fmt.Sprintf("prediction changes (as %s), and interval i holds the distances x with", m.Combine.Input))
	f.Comment(fmt.Sprintf("threshold[i-1] < %s(x) <= threshold[i]. Its %d cells take %d distinct values.", m.Combine.Input, t.rag.cells(), l.values))
	f.Const().Defs(
		jen.Id("classes").Op("=").Lit(t.classes()),
		jen.Id("bounds").Op("=").Lit(l.bounds),
		jen.Id("cellCount").Op("=").Lit(t.rag.cells()),
		jen.Id("tableValues").Op("=").Lit(l.values),
		jen.Comment("keyStride is two more than the largest location id any split looks at: ids ≥"),
		jen.Comment("keyStride-1 are treated alike, and clamped to it."),
		jen.Id("keyStride").Op("=").Lit(t.stride),
	)
	f.Line()
	embedBlob(f, l, []blobArray{
		{"search", l.searchAt, []string{"lookup." + t.order() + " of each class's thresholds, ascending within the class"}},
		{"start", l.startAt, []string{"where each class's thresholds start in search, and where the last end"}},
	}, []string{"for each class c, its intervals' value indexes, from start[c]+c"})
	tableVars(f, l, jen.Id("cellCount"),
		jen.Id("search").Op("=").Add(view(t.keyType(), "searchAt", jen.Id("bounds"))),
		jen.Id("start").Op("=").Parens(jen.Op("*").Index(jen.Id("classes").Op("+").Lit(1)).Uint32()).Call(view(jen.Uint32(), "startAt", jen.Id("classes").Op("+").Lit(1))),
	)
	f.Line()
	tableReads(f)
	f.Line()
	f.Comment("value returns the index of f's prediction among the table's distinct values: the")
	f.Comment("key's class, then the interval among the class's own thresholds (lookup.Rank, a")
	f.Comment("search without a branch on the distance).")
	f.Func().Id("value").Params(jen.Id("f").Qual(featurePkg, "Features")).Int().Block(
		jen.Id("class").Op(":=").Int().Call(jen.Id("keyClass").Index(
			jen.Min(jen.Uint32().Call(jen.Id("f").Dot("PU")), jen.Id("keyStride").Op("-").Lit(1)).Op("*").Id("keyStride").Op("+").
				Min(jen.Uint32().Call(jen.Id("f").Dot("DO")), jen.Id("keyStride").Op("-").Lit(1)))),
		jen.List(jen.Id("lo"), jen.Id("hi")).Op(":=").List(jen.Id("start").Index(jen.Id("class")), jen.Id("start").Index(jen.Id("class").Op("+").Lit(1))),
		jen.Id("i").Op(":=").Qual(lookupPkg, "Rank").Call(jen.Id("search").Index(jen.Id("lo").Op(":").Id("hi")), jen.Qual(lookupPkg, t.order()).Call(m.inputType().Call(jen.Id("f").Dot("Distance")))),
		jen.Return(jen.Int().Call(jen.Id("table").Dot("Cells").Index(jen.Int().Call(jen.Id("lo")).Op("+").Id("class").Op("+").Id("i")))),
	)
	if err := m.writeFile(files, "table.go", f); err != nil {
		return err
	}
	return m.writeFile(files, "table_test.go", tableTest(m.newFile(), t, l))
}

// raggedWellFormed checks, in TestTableWellFormed, that each class's
// thresholds are in the search array, ascending:
//
//	if start[0] != 0 || start[classes] != bounds {
//		t.Fatalf("the classes' thresholds run from %d to %d of %d", start[0], start[classes], bounds)
//	}
//	for c := range classes {
//		if start[c] > start[c+1] {
//			t.Fatalf("class %d starts at %d, after the next at %d", c, start[c], start[c+1])
//		}
//		for i := start[c] + 1; i < start[c+1]; i++ {
//			if search[i-1] >= search[i] {
//				t.Fatalf("class %d: threshold %d is not above the one before", c, i)
//			}
//		}
//	}
//
// Nothing for the full table.
func raggedWellFormed(t *table) jen.Code {
	if t.rag == nil {
		return jen.Null()
	}
	at := func(i jen.Code) *jen.Statement { return jen.Id("start").Index(i) }
	return jen.Add(
		jen.If(at(jen.Lit(0)).Op("!=").Lit(0).Op("||").Add(at(jen.Id("classes"))).Op("!=").Id("bounds")).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("the classes' thresholds run from %d to %d of %d"), at(jen.Lit(0)), at(jen.Id("classes")), jen.Id("bounds")),
		),
		jen.Line(),
		jen.For(jen.Id("c").Op(":=").Range().Id("classes")).Block(
			jen.If(at(jen.Id("c")).Op(">").Add(at(jen.Id("c").Op("+").Lit(1)))).Block(
				jen.Id("t").Dot("Fatalf").Call(jen.Lit("class %d starts at %d, after the next at %d"), jen.Id("c"), at(jen.Id("c")), at(jen.Id("c").Op("+").Lit(1))),
			),
			jen.For(jen.Id("i").Op(":=").Add(at(jen.Id("c"))).Op("+").Lit(1), jen.Id("i").Op("<").Add(at(jen.Id("c").Op("+").Lit(1))), jen.Id("i").Op("++")).Block(
				jen.If(jen.Id("search").Index(jen.Id("i").Op("-").Lit(1)).Op(">=").Id("search").Index(jen.Id("i"))).Block(
					jen.Id("t").Dot("Fatalf").Call(jen.Lit("class %d: threshold %d is not above the one before"), jen.Id("c"), jen.Id("i")),
				),
			),
		),
	)
}

// fullTable is the full table, as lookup stores it: every class's
// prediction in each interval of thresholds (all the trees' distance
// thresholds, of which each class's own are a subset), class-major, as an
// index into the distinct predictions. Those are r's: each of a class's own
// intervals holds one interval of thresholds at least. Interval i, up to
// thresholds[i], lies in the class's interval j when j of the class's
// thresholds are below thresholds[i]: the two lists are merged in one pass,
// and no prediction is looked up again.
func (r *ragged) fullTable(thresholds []float64) (*lookup.Table[uint32], error) {
	own, err := lookup.NewTable[uint32](r.values)
	if err != nil {
		return nil, err
	}
	intervals := len(thresholds) + 1
	classes := len(r.start) - 1
	cells := make([]uint32, 0, classes*intervals)
	for c := range classes {
		bounds := r.bounds[r.start[c]:r.start[c+1]]
		row := own.Cells[int(r.start[c])+c : int(r.start[c+1])+c+1]
		j := 0
		for _, th := range thresholds {
			for j < len(bounds) && bounds[j] < th {
				j++
			}
			cells = append(cells, row[j])
		}
		cells = append(cells, row[len(bounds)])
	}
	return &lookup.Table[uint32]{Values: own.Values, Cells: cells}, nil
}

// tableReads writes the functions both tables serve with: predictTable and
// PredictText, over the generated value function.
func tableReads(f *jen.File) {
	f.Comment("predictTable is the fast path of Predict: a key lookup, a search, two loads.")
	f.Func().Id("predictTable").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(
		jen.Return(jen.Id("table").Dot("Values").Index(jen.Id("value").Call(jen.Id("f")))),
	)
	f.Line()
	f.Comment("PredictText returns Predict(f) and its JSON text, as encoding/json writes the")
	f.Comment("float64: the text of each distinct prediction is in the table, so that serving")
	f.Comment("a ride formats no float (model.Model's PredictText).")
	f.Func().Id("PredictText").Params(jen.Id("f").Qual(featurePkg, "Features")).Params(jen.Float64(), jen.String()).Block(
		jen.Id("v").Op(":=").Id("value").Call(jen.Id("f")),
		jen.Return(jen.Id("table").Dot("Values").Index(jen.Id("v")), jen.Id("tableBin").Index(jen.Id("textAt").Op("+").Id("textOff").Index(jen.Id("v")).Op(":").Id("textAt").Op("+").Id("textOff").Index(jen.Id("v").Op("+").Lit(1)))),
	)
}
