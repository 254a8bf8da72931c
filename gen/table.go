package gen

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/lookup"
)

// TableFile is the embedded table's file name in the generated package.
const TableFile = "table.bin"

const lookupPkg = "github.com/rideduration/rideduration/lookup"

// table is the ensemble evaluated at every (key class, distance interval).
//
// A key class is a set of keys (PU, DO) that every split on the key treats
// alike: the same PU_DO, PULocationID and DOLocationID categories matched
// among those the trees split on, and the ids in the same intervals of the
// trees' numeric splits on them. Interval i holds the distances x, converted
// to the input type, with thresholds[i-1] < x <= thresholds[i] (thresholds[-1] is -Inf,
// thresholds[len] is +Inf): within it every distance split of every tree
// goes the same way, so the ensemble's output is constant.
type table struct {
	stride     int           // keys with both ids below stride have a class of their own
	keyClass   []uint32      // class of the key (PU, DO) at PU*stride+DO
	reps       []feature.Key // a key of each class
	thresholds []float64     // distinct distance thresholds (in the input type), ascending
	wide       bool          // the input is float64: the search compares lookup.Order64 keys
	each       *ragged       // each class's own intervals, from which the full table is laid out
	rag        *ragged       // each, when the full table exceeds the bound and it serves
	distinct   int           // distinct predictions
	textBytes  int           // their JSON text's length
}

func (t *table) classes() int   { return len(t.reps) }
func (t *table) intervals() int { return len(t.thresholds) + 1 }

// maxStride bounds the key → class array: stride² entries.
const maxStride = 4096

// table evaluates the ensemble over all classes and intervals, or returns
// nil and why it cannot: an id is too large for a key array, or the table
// would exceed the size bound. why, or what the table holds, goes into the
// package comment.
func (m *model) table() (*table, string) {
	t := &table{wide: m.Combine.Input == export.Float64}
	// Everything about the key that some split looks at: the categories
	// split on, and the numeric thresholds on the ids.
	var splitOn [len(feature.Inputs)]map[feature.Key]bool
	var idCuts [len(feature.Inputs)][]float64
	maxID := int32(0)
	for i := range splitOn {
		splitOn[i] = map[feature.Key]bool{}
	}
	for i := range m.Trees {
		tr := &m.Trees[i]
		for n, col := range tr.Feature {
			if tr.IsLeaf(int32(n)) {
				continue
			}
			c := &m.cols[col]
			switch {
			case c.Input == feature.InputDistance:
				t.thresholds = append(t.thresholds, m.Threshold(tr, int32(n)))
			case c.OneHot:
				splitOn[c.Input][c.Category] = true
				maxID = max(maxID, c.Category.PU, c.Category.DO)
			default:
				th := m.Threshold(tr, int32(n))
				idCuts[c.Input] = append(idCuts[c.Input], th)
				if th < math.MaxInt32 { // a larger one sends every id left: it tells none apart
					maxID = max(maxID, int32(min(math.Ceil(max(th, 0)), maxStride)))
				}
			}
		}
	}
	// Every id ≥ stride-1 is above every category and threshold: the
	// generated code clamps ids to stride-1.
	t.stride = int(maxID) + 2
	if t.stride > maxStride {
		return nil, fmt.Sprintf("Predict walks the trees: the trees split on location id %d, too large for a key table.", maxID)
	}
	for i, th := range t.thresholds {
		if th == 0 {
			t.thresholds[i] = 0 // -0 → +0: the same split, and one order for interval's integer search
		}
	}
	slices.Sort(t.thresholds)
	t.thresholds = slices.Compact(t.thresholds)
	for i := range idCuts {
		slices.Sort(idCuts[i])
		idCuts[i] = slices.Compact(idCuts[i])
	}
	// An id's class on one side: the category it matches, if split on, and
	// its interval among the numeric thresholds.
	type side struct {
		category int32
		interval int
	}
	sideOf := func(in feature.Input, id int32) side {
		s := side{}
		k := feature.Key{PU: id}
		if in == feature.InputDO {
			k = feature.Key{DO: id}
		}
		if splitOn[in][k] {
			s.category = id
		}
		s.interval, _ = slices.BinarySearch(idCuts[in], m.Input(float64(id)))
		return s
	}
	type class struct {
		pudo   feature.Key
		pu, do side
	}
	classOf := map[class]uint32{}
	t.keyClass = make([]uint32, t.stride*t.stride)
	for pu := range int32(t.stride) {
		for do := range int32(t.stride) {
			k := feature.Key{PU: pu, DO: do}
			c := class{pu: sideOf(feature.InputPU, pu), do: sideOf(feature.InputDO, do)}
			if splitOn[feature.InputPUDO][k] {
				c.pudo = k
			}
			id, ok := classOf[c]
			if !ok {
				id = uint32(len(t.reps))
				classOf[c] = id
				t.reps = append(t.reps, k)
			}
			t.keyClass[int(pu)*t.stride+int(do)] = id
		}
	}
	// Each class's own intervals first: they hold every distinct prediction
	// the full table would, so both tables' sizes are counted from them.
	r := t.ragged(m)
	t.each = r
	t.count(r.values)
	dense, rag := t.denseBytes(), t.raggedBytes(r)
	switch {
	case rag <= m.opts.MaxTableBytes && m.opts.preferRagged(dense, rag):
		t.rag = r
		return t, fmt.Sprintf("Predict reads a precomputed table of each key class's own distance intervals: %d key classes, %d intervals in all (%d bytes; %d × %d intervals would take %d bytes, %s).",
			t.classes(), r.cells(), rag, t.classes(), t.intervals(), dense, m.opts.raggedWhy(dense, rag))
	case dense <= m.opts.MaxTableBytes:
	case rag <= m.opts.MaxTableBytes:
		t.rag = r
		return t, fmt.Sprintf("Predict reads a precomputed table of each key class's own distance intervals: %d key classes, %d intervals in all (%d bytes; %d × %d intervals would take %d bytes, above the %d-byte bound).",
			t.classes(), r.cells(), rag, t.classes(), t.intervals(), dense, m.opts.MaxTableBytes)
	default:
		return nil, fmt.Sprintf("Predict walks the trees: the table (%d key classes × %d distance intervals, %d bytes; of each class's own intervals, %d in all, %d bytes) exceeds the %d-byte bound.",
			t.classes(), t.intervals(), dense, r.cells(), rag, m.opts.MaxTableBytes)
	}

	return t, fmt.Sprintf("Predict reads a precomputed table: %d key classes × %d distance intervals%s.", t.classes(), t.intervals(), m.opts.fullWhy(dense, rag))
}

// The search for a distance's interval starts at the bucket of the top
// bucketBits of order(x) (first[bucket] thresholds lie in lower buckets), then
// climbs a ladder of steps over the few thresholds in that bucket.
// (bucket of x: lookup.Order(x) >> (32-bucketBits), or lookup.Order64(x) >>
// (64-bucketBits) for a float64 input)
//
// 18 bits: the February forest's 2,740 thresholds are at most 7 a bucket,
// a 3-step ladder; first takes 512 KB of the binary (a page of it touched
// per distance octave a stream uses). 16 bits took 5 steps and Predict
// 25 % longer; 20 bits, 2 steps and 2 MB, gained nothing more measurable.
const bucketBits = 18

// key is a threshold's search key: lookup.Order of the float32, or
// lookup.Order64 of the float64.
func (t *table) key(th float64) uint64 {
	if t.wide {
		return lookup.Order64(th)
	}
	return uint64(lookup.Order(float32(th)))
}

// order names the lookup function of the search keys.
func (t *table) order() string {
	if t.wide {
		return "Order64"
	}
	return "Order"
}

func (t *table) keyBits() int {
	if t.wide {
		return 64
	}
	return 32
}

func (t *table) keyType() *jen.Statement {
	if t.wide {
		return jen.Uint64()
	}
	return jen.Uint32()
}

// bucket is the bucket of a key.
func (t *table) bucket(k uint64) uint64 {
	if t.wide {
		return k >> (64 - bucketBits)
	}
	return k >> (32 - bucketBits)
}

// ladderSteps is the number of halving steps that cover the most thresholds
// any one bucket holds.
func (t *table) ladderSteps() int {
	most, run := 0, 0
	for i, th := range t.thresholds {
		if i > 0 && t.bucket(t.key(th)) == t.bucket(t.key(t.thresholds[i-1])) {
			run++
		} else {
			run = 1
		}
		most = max(most, run)
	}
	return bits.Len(uint(most))
}

// searchSize is the search array's length: a power of two with room for the
// thresholds and a full ladder past the last, padded with the largest key.
func (t *table) searchSize() int {
	return 1 << bits.Len(uint(len(t.thresholds)+1<<t.ladderSteps()))
}

// tableLayout is the table laid out for the generated package: the blob it
// embeds, TableFile, holding the table and the search's arrays as
// lookup.Append lays them out, and where each array starts. The generated
// package reads them in place (lookup.View): its start-up computes nothing.
type tableLayout struct {
	blob   []byte
	values int // distinct predictions
	steps  int // the ladder's halving steps (ladderSteps)
	size   int // the search array's length (searchSize)
	// The arrays' offsets in blob, in bytes.
	valuesAt, searchAt, textOffAt, firstAt, keyClassAt, cellsAt, textAt int
	// The ragged table's: its thresholds' keys (at searchAt), and where each
	// class's start.
	bounds, startAt int
	// The element types of the arrays stored as uint16 when every element fits.
	first, keyClass, cells uints
}

// layout lays t out: its distinct values and cells (lookup.NewTable), the
// search's keys and buckets, and each value's JSON text.
func (t *table) layout() (*tableLayout, error) {
	if t.rag != nil {
		return t.raggedLayout()
	}
	tb, err := t.each.fullTable(t.thresholds)
	if err != nil {
		return nil, err
	}
	l := &tableLayout{values: len(tb.Values), steps: t.ladderSteps(), size: t.searchSize()}
	var search []uint64 // the thresholds' keys, padded with the largest key
	for i := range l.size {
		k := uint64(math.MaxUint32)
		if t.wide {
			k = math.MaxUint64
		}
		if i < len(t.thresholds) {
			k = t.key(t.thresholds[i])
		}
		search = append(search, k)
	}
	first := make([]uint32, 1<<bucketBits) // per bucket, the number of thresholds in lower buckets
	n := 0
	for b := range first {
		for n < len(t.thresholds) && t.bucket(t.key(t.thresholds[n])) < uint64(b) {
			n++
		}
		first[b] = uint32(n)
	}
	text, textOff, err := texts(tb.Values)
	if err != nil {
		return nil, err
	}

	// Widest elements first, so that no padding is needed; the cells last:
	// the largest array.
	var blob []byte
	blob, l.valuesAt = lookup.Append(blob, tb.Values)
	if t.wide {
		blob, l.searchAt = lookup.Append(blob, search)
	} else {
		search32 := make([]uint32, len(search))
		for i, k := range search {
			search32[i] = uint32(k)
		}
		blob, l.searchAt = lookup.Append(blob, search32)
	}
	blob, l.textOffAt = lookup.Append(blob, textOff)
	l.first = narrow(first)
	blob, l.firstAt = l.first.append(blob)
	l.end(blob, t.keyClass, tb.Cells, text)
	return l, nil
}

// end appends the arrays every table ends with, the key classes, the
// cells and the texts, each in its narrowest type, and sets l.blob.
func (l *tableLayout) end(blob []byte, keyClass, cells []uint32, text []byte) {
	l.keyClass, l.cells = narrow(keyClass), narrow(cells)
	blob, l.keyClassAt = l.keyClass.append(blob)
	blob, l.cellsAt = l.cells.append(blob)
	l.textAt = len(blob)
	l.blob = append(blob, text...)
}

// writeTable writes table.go, its test and the blob it embeds, as l lays t out.
func (m *model) writeTable(files Files, t *table, l *tableLayout) error {
	files[TableFile] = l.blob
	if t.rag != nil {
		return m.writeRagged(files, t, l)
	}
	f := m.newFile()
	f.Anon("embed")
	guard(f, lookupPkg, lookup.Layout)
	f.Comment(fmt.Sprintf("The table holds the model's prediction for each of %d key classes × %d distance", t.classes(), t.intervals()))
	f.Comment("intervals. A key class is a set of keys (PU, DO) that every split on the key")
	f.Comment("treats alike. Interval i holds the")
	f.Comment(fmt.Sprintf("distances x with threshold[i-1] < %s(x) <= threshold[i], of the trees' %d", m.Combine.Input, len(t.thresholds)))
	f.Comment(fmt.Sprintf("distinct distance thresholds (as %s). Its %d cells take %d distinct values.", m.Combine.Input, t.classes()*t.intervals(), l.values))
	f.Const().Defs(
		jen.Id("classes").Op("=").Lit(t.classes()),
		jen.Id("intervals").Op("=").Lit(t.intervals()),
		jen.Id("tableValues").Op("=").Lit(l.values),
		jen.Comment("bucketShift keeps the top bits of lookup."+t.order()+"(x): the bucket a search starts from."),
		jen.Id("bucketShift").Op("=").Lit(t.keyBits()-bucketBits),
		jen.Comment("searchSize is a power of two with room for a full ladder past the last threshold."),
		jen.Id("searchSize").Op("=").Lit(l.size),
		jen.Comment("keyStride is two more than the largest location id any split looks at: ids ≥"),
		jen.Comment("keyStride-1 are treated alike, and clamped to it."),
		jen.Id("keyStride").Op("=").Lit(t.stride),
	)
	f.Line()
	embedBlob(f, l, []blobArray{
		{"search", l.searchAt, []string{"lookup." + t.order() + " of each threshold, ascending, padded with the largest",
			fmt.Sprintf("uint%d: no key, not even NaN's, is above it, so a search never leaves the", t.keyBits()), "class's row"}},
		{"first", l.firstAt, []string{"for each bucket, the number of thresholds in lower buckets"}},
	}, []string{"for each (class, interval), class-major, the index of its value"})
	tableVars(f, l, jen.Id("classes").Op("*").Id("intervals"),
		jen.Id("search").Op("=").Parens(jen.Op("*").Index(jen.Id("searchSize")).Add(t.keyType())).Call(view(t.keyType(), "searchAt", jen.Id("searchSize"))),
		jen.Id("first").Op("=").Parens(jen.Op("*").Index(jen.Lit(1).Op("<<").Lit(bucketBits)).Add(l.first.typ())).Call(view(l.first.typ(), "firstAt", jen.Lit(1).Op("<<").Lit(bucketBits))),
	)
	f.Line()
	tableReads(f)
	f.Line()
	f.Comment("value returns the index of f's prediction among the table's distinct values.")
	f.Func().Id("value").Params(jen.Id("f").Qual(featurePkg, "Features")).Int().Block(
		jen.Id("class").Op(":=").Int().Call(jen.Id("keyClass").Index(
			jen.Min(jen.Uint32().Call(jen.Id("f").Dot("PU")), jen.Id("keyStride").Op("-").Lit(1)).Op("*").Id("keyStride").Op("+").
				Min(jen.Uint32().Call(jen.Id("f").Dot("DO")), jen.Id("keyStride").Op("-").Lit(1)))),
		jen.Return(jen.Int().Call(jen.Id("table").Dot("Cells").Index(jen.Id("class").Op("*").Id("intervals").Op("+").Id("interval").Call(m.inputType().Call(jen.Id("f").Dot("Distance")))))),
	)
	f.Line()
	// The ladder: after each step, every threshold below search[i] is < x.
	// Each step adds step when search[i+step-1] < k, by arithmetic: the sign
	// of the int64 difference masks the step (Go compiles an if here to a
	// branch). The index is masked so the compiler drops the bounds checks.
	ladder := []jen.Code{
		jen.Id("k").Op(":=").Qual(lookupPkg, t.order()).Call(jen.Id("x")),
		jen.Id("i").Op(":=").Int().Call(jen.Id("first").Index(jen.Id("k").Op(">>").Id("bucketShift"))),
	}
	for step := 1 << l.steps >> 1; step >= 1; step /= 2 {
		at := jen.Parens(jen.Id("i").Op("+").Lit(step - 1)).Op("&").Parens(jen.Id("searchSize").Op("-").Lit(1))
		if t.wide {
			// The borrow of search[i+step-1] - k is 1 when it is < k.
			ladder = append(ladder,
				jen.List(jen.Id("_"), jen.Id("b"+fmt.Sprint(step))).Op(":=").Qual("math/bits", "Sub64").Call(jen.Id("search").Index(at), jen.Id("k"), jen.Lit(0)),
				jen.Id("i").Op("+=").Int().Call(jen.Id("b"+fmt.Sprint(step)).Op("*").Lit(step)))
			continue
		}
		less := jen.Parens(jen.Int64().Call(jen.Id("search").Index(at)).Op("-").Int64().Call(jen.Id("k"))).Op(">>").Lit(63)
		ladder = append(ladder, jen.Id("i").Op("+=").Int().Call(jen.Add(less).Op("&").Lit(step)))
	}
	ladder = append(ladder, jen.Return(jen.Id("i")))
	f.Comment("interval returns the number of thresholds < x: the interval holding x.")
	f.Comment("It starts at x's bucket and climbs a short ladder, comparing integers")
	f.Comment("(lookup." + t.order() + ") without a branch: rides' distances are unpredictable, and")
	f.Comment("mispredicted branches are what make tree walks slow.")
	f.Func().Id("interval").Params(jen.Id("x").Add(m.inputType())).Int().Block(ladder...)
	if err := m.writeFile(files, "table.go", f); err != nil {
		return err
	}
	return m.writeFile(files, "table_test.go", tableTest(m.newFile(), t, l))
}

// blobArray is one of a table's arrays in its blob that only one kind of
// table has: its name (its offset constant is name+"At"), its offset, and
// the lines that say what it holds.
type blobArray struct {
	name string
	at   int
	doc  []string
}

// embedBlob writes the blob's embedding: a comment listing its arrays in
// the blob's order (the values, their texts' offsets, the key classes, the
// cells, whose doc is cells, the texts, and the table's own arrays) and the
// constants of their offsets.
func embedBlob(f *jen.File, l *tableLayout, own []blobArray, cells []string) {
	arrays := append(append([]blobArray{
		{"values", l.valuesAt, []string{"the distinct predictions, float64, ascending"}},
		{"textOff", l.textOffAt, []string{"where each value's text starts in text, and where the last ends"}},
	}, own...),
		blobArray{"keyClass", l.keyClassAt, []string{"the key class of Key{PU, DO} at PU*keyStride+DO, ids clamped to", "keyStride-1"}},
		blobArray{"cells", l.cellsAt, cells},
		blobArray{"text", l.textAt, []string{"each value's JSON text, as encoding/json writes the float64, end to end."}},
	)
	slices.SortStableFunc(arrays, func(a, b blobArray) int { return cmp.Compare(a.at, b.at) })
	f.Comment("tableBin holds the arrays, little-endian, each at an offset that is a multiple of")
	f.Comment("its element size (lookup.Append):")
	var offsets []jen.Code
	for i, a := range arrays {
		for j, line := range a.doc {
			if j == 0 {
				line = "  - " + a.name + ": " + line
			} else {
				line = "    " + line
			}
			if j == len(a.doc)-1 && i < len(arrays)-1 {
				line += ";"
			}
			f.Comment(line)
		}
		offsets = append(offsets, jen.Id(a.name+"At").Op("=").Lit(a.at))
	}
	f.Comment("")
	f.Comment("//go:embed " + TableFile)
	f.Var().Id("tableBin").String()
	f.Line()
	f.Comment("Where each array starts in tableBin, in bytes.")
	f.Const().Defs(offsets...)
	f.Line()
}

// view is lookup.View[typ](tableBin, at, n): n elements of the blob, read
// in place.
func view(typ jen.Code, at string, n jen.Code) *jen.Statement {
	return jen.Qual(lookupPkg, "View").Types(typ).Call(jen.Id("tableBin"), jen.Id(at), n)
}

// tableVars writes the variables that view the blob's arrays: the key
// classes, the texts' offsets, the table's own arrays (own) and the table
// of cellCount cells.
func tableVars(f *jen.File, l *tableLayout, cellCount jen.Code, own ...jen.Code) {
	f.Comment("The arrays, read in place from the binary's read-only data (lookup.View): start-up")
	f.Comment("decodes and copies nothing, and the OS maps a page in when a prediction first")
	f.Comment("touches it.")
	defs := []jen.Code{
		jen.Id("keyClass").Op("=").Parens(jen.Op("*").Index(jen.Id("keyStride").Op("*").Id("keyStride")).Add(l.keyClass.typ())).Call(view(l.keyClass.typ(), "keyClassAt", jen.Id("keyStride").Op("*").Id("keyStride"))),
		jen.Id("textOff").Op("=").Parens(jen.Op("*").Index(jen.Id("tableValues").Op("+").Lit(1)).Uint32()).Call(view(jen.Uint32(), "textOffAt", jen.Id("tableValues").Op("+").Lit(1))),
	}
	defs = append(append(defs, own...), jen.Id("table").Op("=").Qual(lookupPkg, "Table").Types(l.cells.typ()).Values(jen.Dict{
		jen.Id("Values"): view(jen.Float64(), "valuesAt", jen.Id("tableValues")),
		jen.Id("Cells"):  view(l.cells.typ(), "cellsAt", cellCount),
	}))
	f.Var().Defs(defs...)
}

// tableTest is table_test.go: it checks the table's arrays from inside the
// package. Above each builder block, the code it writes.
func tableTest(f *jen.File, t *table, l *tableLayout) *jen.File {
	// func TestTableReadInPlace(t *testing.T) {
	// 	for name, inPlace := range map[string]bool{
	// 		"cells": lookup.InPlace[uint16](tableBin, cellsAt),
	// 		...
	// 	} {
	// 		if !inPlace {
	// 			t.Errorf("%s is not read in place", name)
	// 		}
	// 	}
	// }
	inPlace := func(typ jen.Code, at string) jen.Code {
		return jen.Qual(lookupPkg, "InPlace").Types(typ).Call(jen.Id("tableBin"), jen.Id(at))
	}
	arrays := jen.Dict{
		jen.Lit("values"):   inPlace(jen.Float64(), "valuesAt"),
		jen.Lit("search"):   inPlace(t.keyType(), "searchAt"),
		jen.Lit("keyClass"): inPlace(l.keyClass.typ(), "keyClassAt"),
		jen.Lit("cells"):    inPlace(l.cells.typ(), "cellsAt"),
		jen.Lit("textOff"):  inPlace(jen.Uint32(), "textOffAt"),
	}
	if t.rag != nil {
		arrays[jen.Lit("start")] = inPlace(jen.Uint32(), "startAt")
	} else {
		arrays[jen.Lit("first")] = inPlace(l.first.typ(), "firstAt")
	}
	f.Comment("The table's arrays are read where the binary holds them: lookup.View found")
	f.Comment("each aligned, so nothing was decoded or copied at start-up.")
	f.Func().Id("TestTableReadInPlace").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.For(jen.List(jen.Id("name"), jen.Id("inPlace")).Op(":=").Range().Map(jen.String()).Bool().Values(arrays)).Block(
			jen.If(jen.Op("!").Id("inPlace")).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("%s is not read in place"), jen.Id("name")),
			),
		),
	)
	f.Line()

	// func TestTableText(t *testing.T) {
	// 	if textOff[0] != 0 || len(tableBin) != textAt+int(textOff[tableValues]) {
	// 		t.Fatalf("the text starts at %d and ends at %d of %d", textOff[0], textAt+int(textOff[tableValues]), len(tableBin))
	// 	}
	// 	for v, x := range table.Values {
	// 		want, err := json.Marshal(x)
	// 		if err != nil {
	// 			t.Fatal(err)
	// 		}
	// 		if got := tableBin[textAt+textOff[v] : textAt+textOff[v+1]]; got != string(want) {
	// 			t.Fatalf("value %d (%v): text %q, want %q", v, x, got, want)
	// 		}
	// 	}
	// }
	end := func() *jen.Statement {
		return jen.Id("textAt").Op("+").Int().Call(jen.Id("textOff").Index(jen.Id("tableValues")))
	}
	f.Comment("Each distinct prediction's text is what encoding/json writes of it.")
	f.Func().Id("TestTableText").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.If(jen.Id("textOff").Index(jen.Lit(0)).Op("!=").Lit(0).Op("||").Len(jen.Id("tableBin")).Op("!=").Add(end())).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("the text starts at %d and ends at %d of %d"), jen.Id("textOff").Index(jen.Lit(0)), end(), jen.Len(jen.Id("tableBin"))),
		),
		jen.For(jen.List(jen.Id("v"), jen.Id("x")).Op(":=").Range().Id("table").Dot("Values")).Block(
			jen.List(jen.Id("want"), jen.Err()).Op(":=").Qual("encoding/json", "Marshal").Call(jen.Id("x")),
			jen.If(jen.Err().Op("!=").Nil()).Block(
				jen.Id("t").Dot("Fatal").Call(jen.Err()),
			),
			jen.If(
				jen.Id("got").Op(":=").Id("tableBin").Index(
					jen.Id("textAt").Op("+").Id("textOff").Index(jen.Id("v")).Op(":").
						Id("textAt").Op("+").Id("textOff").Index(jen.Id("v").Op("+").Lit(1))),
				jen.Id("got").Op("!=").String().Call(jen.Id("want")),
			).Block(
				jen.Id("t").Dot("Fatalf").Call(jen.Lit("value %d (%v): text %q, want %q"), jen.Id("v"), jen.Id("x"), jen.Id("got"), jen.Id("want")),
			),
		),
	)
	f.Line()

	// func TestTableWellFormed(t *testing.T) {
	// 	if len(table.Cells) != classes*intervals {
	// 		t.Fatalf("%d cells, want %d", len(table.Cells), classes*intervals)
	// 	}
	// 	for i, c := range table.Cells {
	// 		if int(c) >= len(table.Values) {
	// 			t.Fatalf("cell %d indexes value %d of %d", i, c, len(table.Values))
	// 		}
	// 	}
	// 	for i, c := range keyClass {
	// 		if int(c) >= classes {
	// 			t.Fatalf("key %d_%d has class %d of %d", i/keyStride, i%keyStride, c, classes)
	// 		}
	// 	}
	// }
	cells := func() *jen.Statement { return jen.Len(jen.Id("table").Dot("Cells")) }
	product := func() *jen.Statement { return jen.Id("classes").Op("*").Id("intervals") }
	if t.rag != nil {
		product = func() *jen.Statement { return jen.Id("bounds").Op("+").Id("classes") }
	}
	f.Comment("Every cell indexes one of the values, and every key's class is a row: no")
	f.Comment("prediction can read past the table (which bounds checks would stop, but")
	f.Comment("only at run time).")
	if t.rag != nil {
		f.Comment("Each class's thresholds are in the search array, ascending.")
	}
	f.Func().Id("TestTableWellFormed").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.If(cells().Op("!=").Add(product())).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("%d cells, want %d"), cells(), product()),
		),
		raggedWellFormed(t),
		jen.For(jen.List(jen.Id("i"), jen.Id("c")).Op(":=").Range().Id("table").Dot("Cells")).Block(
			jen.If(jen.Int().Call(jen.Id("c")).Op(">=").Len(jen.Id("table").Dot("Values"))).Block(
				jen.Id("t").Dot("Fatalf").Call(jen.Lit("cell %d indexes value %d of %d"), jen.Id("i"), jen.Id("c"), jen.Len(jen.Id("table").Dot("Values"))),
			),
		),
		jen.For(jen.List(jen.Id("i"), jen.Id("c")).Op(":=").Range().Id("keyClass")).Block(
			jen.If(jen.Int().Call(jen.Id("c")).Op(">=").Id("classes")).Block(
				jen.Id("t").Dot("Fatalf").Call(jen.Lit("key %d_%d has class %d of %d"), jen.Id("i").Op("/").Id("keyStride"), jen.Id("i").Op("%").Id("keyStride"), jen.Id("c"), jen.Id("classes")),
			),
		),
	)
	return f
}

// uints is an array of small unsigned integers, stored as uint16 when every
// one fits, else as uint32.
type uints struct {
	xs   []uint32
	wide bool
}

func narrow(xs []uint32) uints {
	return uints{xs: xs, wide: slices.ContainsFunc(xs, func(x uint32) bool { return x > math.MaxUint16 })}
}

func (u uints) typ() jen.Code {
	if u.wide {
		return jen.Uint32()
	}
	return jen.Uint16()
}

func (u uints) append(blob []byte) ([]byte, int) {
	if u.wide {
		return lookup.Append(blob, u.xs)
	}
	xs := make([]uint16, len(u.xs))
	for i, x := range u.xs {
		xs[i] = uint16(x)
	}
	return lookup.Append(blob, xs)
}
