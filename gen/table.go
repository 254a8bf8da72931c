package gen

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/lookup"
)

// TableFile is the embedded table's file name in the generated package.
const TableFile = "table.bin.zst"

const lookupPkg = "github.com/rideduration/rideduration/lookup"

// table is the forest evaluated at every (key class, distance interval).
//
// Key class 0 is every key no tree splits on (unseen keys too); class c ≥ 1
// is the key of column splitCols[c-1]. Interval i holds the float32
// distances x with thresholds[i-1] < x <= thresholds[i] (thresholds[-1] is
// -Inf, thresholds[len] is +Inf): within it every distance split of every
// tree goes the same way, so the forest's output is constant.
type table struct {
	splitCols  []int32   // one-hot columns some tree splits on, ascending
	thresholds []float32 // distinct distance thresholds (as float32), ascending
	values     []float64 // predictions, class-major: values[c*intervals()+i]
}

func (t *table) classes() int   { return len(t.splitCols) + 1 }
func (t *table) intervals() int { return len(t.thresholds) + 1 }
func (t *table) bytes() int     { return t.classes() * t.intervals() * 8 }

// table evaluates the forest over all classes and intervals, unless the
// table would exceed the size bound (then values stay nil).
func (m *model) table() (*table, error) {
	t := &table{}
	for i := range m.Trees {
		tr := &m.Trees[i]
		for n, col := range tr.Feature {
			switch {
			case tr.IsLeaf(int32(n)):
			case col == m.distance:
				t.thresholds = append(t.thresholds, export.Threshold32(tr.Threshold[n]))
			default:
				t.splitCols = append(t.splitCols, col)
			}
		}
	}
	slices.Sort(t.splitCols)
	t.splitCols = slices.Compact(t.splitCols)
	for i, th := range t.thresholds {
		if th == 0 {
			t.thresholds[i] = 0 // -0 → +0: the same split, and one order for interval's integer search
		}
	}
	slices.Sort(t.thresholds)
	t.thresholds = slices.Compact(t.thresholds)
	if t.bytes() > m.opts.MaxTableBytes {
		return t, nil
	}

	// Each tree adds its leaf to every interval of a class in one walk that
	// splits the interval range at each distance node. Trees are taken in
	// estimator order, so every entry is summed in sklearn's order.
	t.values = make([]float64, t.classes()*t.intervals())
	for c := range t.classes() {
		col := int32(-1) // class 0 matches no split column
		if c > 0 {
			col = t.splitCols[c-1]
		}
		row := t.values[c*t.intervals() : (c+1)*t.intervals()]
		for i := range m.Trees {
			t.walk(&m.Trees[i], 0, col, m.distance, 0, len(row), row)
		}
		for i := range row {
			row[i] /= float64(len(m.Trees))
		}
	}
	return t, nil
}

// walk adds tree tr's outputs for key column col to row[lo:hi], from node n.
func (t *table) walk(tr *export.Tree, n, col, distance int32, lo, hi int, row []float64) {
	for lo < hi {
		if tr.IsLeaf(n) {
			for i := lo; i < hi; i++ {
				row[i] += tr.Value[n]
			}
			return
		}
		if tr.Feature[n] != distance {
			if tr.Feature[n] == col { // the key matches: x[col] = 1 > threshold
				n = tr.ChildrenRight[n]
			} else {
				n = tr.ChildrenLeft[n]
			}
			continue
		}
		// Interval i goes left when its distances are <= thresholds[j], i.e. i <= j.
		j, _ := slices.BinarySearch(t.thresholds, export.Threshold32(tr.Threshold[n]))
		t.walk(tr, tr.ChildrenLeft[n], col, distance, lo, min(hi, j+1), row)
		n, lo = tr.ChildrenRight[n], max(lo, j+1)
	}
}

// The search for a distance's interval starts at the bucket of the top
// bucketBits of order(x) (first[bucket] thresholds lie in lower buckets), then
// climbs a ladder of steps over the few thresholds in that bucket.
// (bucket of x: lookup.Order(x) >> (32-bucketBits))
const bucketBits = 16

// ladderSteps is the number of halving steps that cover the most thresholds
// any one bucket holds.
func (t *table) ladderSteps() int {
	most, run := 0, 0
	for i, th := range t.thresholds {
		if i > 0 && lookup.Order(th)>>(32-bucketBits) == lookup.Order(t.thresholds[i-1])>>(32-bucketBits) {
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

// write emits table.go and the embedded table.
func (t *table) write(m *model, files Files) error {
	// One index per cell into the distinct values: uint16 when they fit.
	cellType, encoded, nValues := jen.Uint16(), []byte(nil), 0
	if tb, err := lookup.NewTable[uint16](t.values); err == nil {
		encoded, nValues = tb.Encode(), len(tb.Values)
	} else {
		tb, err := lookup.NewTable[uint32](t.values)
		if err != nil {
			return err
		}
		cellType, encoded, nValues = jen.Uint32(), tb.Encode(), len(tb.Values)
	}
	files[TableFile] = encoded

	f := m.newFile()
	f.Anon("embed")
	cols := make([]jen.Code, len(t.splitCols))
	for i, c := range t.splitCols {
		cols[i] = jen.Lit(int(c))
	}
	ths := make([]jen.Code, len(t.thresholds))
	for i, x := range t.thresholds {
		ths[i] = float32Lit(x)
	}
	steps, size := t.ladderSteps(), t.searchSize()
	firstType := jen.Uint16()
	if len(t.thresholds) >= math.MaxUint16 {
		firstType = jen.Uint32()
	}

	f.Comment("splitColumns are the one-hot columns some tree splits on. The key of")
	f.Comment("splitColumns[c-1] is key class c; class 0 is every other key.")
	f.Var().Id("splitColumns").Op("=").Index(jen.Op("...")).Int32().Values(cols...)
	f.Line()
	f.Comment("thresholds are the trees' distance thresholds as float32, ascending. Interval i")
	f.Comment("holds the distances x with thresholds[i-1] < x <= thresholds[i].")
	f.Var().Id("thresholds").Op("=").Index(jen.Op("...")).Float32().Values(ths...)
	f.Line()
	f.Const().Defs(
		jen.Id("intervals").Op("=").Len(jen.Id("thresholds")).Op("+").Lit(1),
		jen.Comment("bucketShift keeps the top bits of lookup.Order(x): the bucket a search starts from."),
		jen.Id("bucketShift").Op("=").Lit(32-bucketBits),
		jen.Comment("searchSize is a power of two with room for a full ladder past the last threshold."),
		jen.Id("searchSize").Op("=").Lit(size),
		jen.Comment("tableValues is the number of distinct predictions in the table."),
		jen.Id("tableValues").Op("=").Lit(nValues),
	)
	f.Line()
	f.Comment("tableZst holds the forest's prediction for every (key class, interval), class-major:")
	f.Comment(fmt.Sprintf("%d × %d cells taking %d distinct values, encoded by lookup.Table.", t.classes(), t.intervals(), nValues))
	f.Comment("//go:embed " + TableFile)
	f.Var().Id("tableZst").Index().Byte()
	f.Line()
	f.Var().Defs(
		jen.Id("classOf").Op("=").Id("classOfColumns").Call(),
		jen.Id("search").Op("=").Id("searchArray").Call(),
		jen.Id("first").Op("=").Id("firstArray").Call(),
		jen.Id("table").Op("=").Id("decodeTable").Call(),
	)
	f.Line()
	f.Comment("predictTable is the fast path of Predict: a key lookup, a search, a load.")
	f.Func().Id("predictTable").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(
		jen.Id("class").Op(":=").Int().Call(jen.Id("classOf").Index(jen.Id("Vocabulary").Dot("Index").Call(jen.Id("f").Dot("Key")).Op("+").Lit(1))),
		jen.Return(jen.Id("table").Dot("At").Call(jen.Id("class").Op("*").Id("intervals").Op("+").Id("interval").Call(jen.Float32().Call(jen.Id("f").Dot("Distance"))))),
	)
	f.Line()
	// The ladder: after each step, every threshold below search[i] is < x.
	// Each step adds step when search[i+step-1] < k, by arithmetic: the sign
	// of the int64 difference masks the step (Go compiles an if here to a
	// branch). The index is masked so the compiler drops the bounds checks.
	ladder := []jen.Code{
		jen.Id("k").Op(":=").Qual(lookupPkg, "Order").Call(jen.Id("x")),
		jen.Id("i").Op(":=").Int().Call(jen.Id("first").Index(jen.Id("k").Op(">>").Id("bucketShift"))),
	}
	for step := 1 << steps >> 1; step >= 1; step /= 2 {
		at := jen.Parens(jen.Id("i").Op("+").Lit(step - 1)).Op("&").Parens(jen.Id("searchSize").Op("-").Lit(1))
		less := jen.Parens(jen.Int64().Call(jen.Id("search").Index(at)).Op("-").Int64().Call(jen.Id("k"))).Op(">>").Lit(63)
		ladder = append(ladder, jen.Id("i").Op("+=").Int().Call(jen.Add(less).Op("&").Lit(step)))
	}
	ladder = append(ladder, jen.Return(jen.Id("i")))
	f.Comment("interval returns the number of thresholds < x: the interval holding x.")
	f.Comment("It starts at x's bucket and climbs a short ladder, comparing integers")
	f.Comment("(lookup.Order) without a branch: rides' distances are unpredictable, and")
	f.Comment("mispredicted branches are what make tree walks slow.")
	f.Func().Id("interval").Params(jen.Id("x").Float32()).Int().Block(ladder...)
	f.Line()
	f.Func().Id("classOfColumns").Params().Index().Uint16().Block(
		jen.Comment("Indexed by column+1, so that feature.Unseen (-1) is class 0."),
		jen.Id("c").Op(":=").Make(jen.Index().Uint16(), jen.Id("Vocabulary").Dot("Len").Call().Op("+").Lit(1)),
		jen.For(jen.List(jen.Id("i"), jen.Id("col")).Op(":=").Range().Id("splitColumns")).Block(
			jen.Id("c").Index(jen.Id("col").Op("+").Lit(1)).Op("=").Uint16().Call(jen.Id("i").Op("+").Lit(1)),
		),
		jen.Return(jen.Id("c")),
	)
	f.Line()
	f.Comment("searchArray holds lookup.Order(threshold), padded with the largest uint32: no key,")
	f.Comment("not even NaN's, is above it, so a search never leaves the class's row.")
	f.Func().Id("searchArray").Params().Op("*").Index(jen.Id("searchSize")).Uint32().Block(
		jen.Var().Id("s").Index(jen.Id("searchSize")).Uint32(),
		jen.For(jen.Id("i").Op(":=").Range().Id("s")).Block(
			jen.Id("s").Index(jen.Id("i")).Op("=").Qual("math", "MaxUint32"),
			jen.If(jen.Id("i").Op("<").Len(jen.Id("thresholds"))).Block(
				jen.Id("s").Index(jen.Id("i")).Op("=").Qual(lookupPkg, "Order").Call(jen.Id("thresholds").Index(jen.Id("i"))),
			),
		),
		jen.Return(jen.Op("&").Id("s")),
	)
	f.Line()
	f.Comment("firstArray holds, for each bucket, the number of thresholds in lower buckets.")
	f.Func().Id("firstArray").Params().Op("*").Index(jen.Lit(1).Op("<<").Lit(bucketBits)).Add(firstType).Block(
		jen.Var().Id("f").Index(jen.Lit(1).Op("<<").Lit(bucketBits)).Add(firstType),
		jen.Id("n").Op(":=").Lit(0),
		jen.For(jen.Id("b").Op(":=").Range().Id("f")).Block(
			jen.For(jen.Id("n").Op("<").Len(jen.Id("thresholds")).Op("&&").Qual(lookupPkg, "Order").Call(jen.Id("thresholds").Index(jen.Id("n"))).Op(">>").Id("bucketShift").Op("<").Uint32().Call(jen.Id("b"))).Block(
				jen.Id("n").Op("++"),
			),
			jen.Id("f").Index(jen.Id("b")).Op("=").Add(firstType).Call(jen.Id("n")),
		),
		jen.Return(jen.Op("&").Id("f")),
	)
	f.Line()
	f.Func().Id("decodeTable").Params().Op("*").Qual(lookupPkg, "Table").Types(cellType).Block(
		jen.List(jen.Id("t"), jen.Err()).Op(":=").Qual(lookupPkg, "Decode").Types(cellType).Call(jen.Id("tableZst"), jen.Id("tableValues"), jen.Parens(jen.Len(jen.Id("splitColumns")).Op("+").Lit(1)).Op("*").Id("intervals")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Panic(jen.Err())),
		jen.Return(jen.Id("t")),
	)
	return m.writeFile(files, "table.go", f)
}
