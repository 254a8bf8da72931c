package gen

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/lookup"
)

// TableFile is the embedded table's file name in the generated package.
const TableFile = "table.bin"

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
//
// 18 bits: the February forest's 2,740 thresholds are at most 7 a bucket,
// a 3-step ladder; first takes 512 KB of the binary (a page of it touched
// per distance octave a stream uses). 16 bits took 5 steps and Predict
// 25 % longer; 20 bits, 2 steps and 2 MB, gained nothing more measurable.
const bucketBits = 18

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

// write emits table.go and the blob it embeds, TableFile: the table and
// the search's arrays, laid out by lookup.Append, which the generated package
// reads in place (lookup.View), so that its start-up computes nothing.
func (t *table) write(m *model, files Files) error {
	tb, err := lookup.NewTable[uint32](t.values)
	if err != nil {
		return err
	}
	var search []uint32 // lookup.Order(threshold), padded with the largest key
	for i := range t.searchSize() {
		k := uint32(math.MaxUint32)
		if i < len(t.thresholds) {
			k = lookup.Order(t.thresholds[i])
		}
		search = append(search, k)
	}
	first := make([]uint32, 1<<bucketBits) // per bucket, the number of thresholds in lower buckets
	n := 0
	for b := range first {
		for n < len(t.thresholds) && lookup.Order(t.thresholds[n])>>(32-bucketBits) < uint32(b) {
			n++
		}
		first[b] = uint32(n)
	}
	stride, keyClass, err := t.keyClasses(m)
	if err != nil {
		return err
	}
	// Each distinct prediction's JSON text, as encoding/json writes it, end
	// to end, and where each starts (and the last ends).
	var text []byte
	textOff := []uint32{0}
	for _, v := range tb.Values {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("prediction %v: %w", v, err)
		}
		text = append(text, b...)
		textOff = append(textOff, uint32(len(text)))
	}

	// Widest elements first, so that no padding is needed; the cells last:
	// the largest array.
	blob, valuesAt := lookup.Append(nil, tb.Values)
	blob, searchAt := lookup.Append(blob, search)
	blob, textOffAt := lookup.Append(blob, textOff)
	firstArr, classArr, cellArr := narrow(first), narrow(keyClass), narrow(tb.Cells)
	blob, firstAt := firstArr.append(blob)
	blob, keyClassAt := classArr.append(blob)
	blob, cellsAt := cellArr.append(blob)
	textAt := len(blob)
	blob = append(blob, text...)
	files[TableFile] = blob

	f := m.newFile()
	f.Anon("embed")
	f.Comment(fmt.Sprintf("The table holds the forest's prediction for each of %d key classes × %d distance", t.classes(), t.intervals()))
	f.Comment("intervals. Key class c ≥ 1 is the key of the c-th one-hot column some tree")
	f.Comment("splits on (in column order); class 0 is every other key. Interval i holds the")
	f.Comment(fmt.Sprintf("distances x with threshold[i-1] < float32(x) <= threshold[i], of the trees' %d", len(t.thresholds)))
	f.Comment(fmt.Sprintf("distinct distance thresholds (as float32). Its %d cells take %d distinct values.", t.classes()*t.intervals(), len(tb.Values)))
	f.Const().Defs(
		jen.Id("classes").Op("=").Lit(t.classes()),
		jen.Id("intervals").Op("=").Lit(t.intervals()),
		jen.Id("tableValues").Op("=").Lit(len(tb.Values)),
		jen.Comment("bucketShift keeps the top bits of lookup.Order(x): the bucket a search starts from."),
		jen.Id("bucketShift").Op("=").Lit(32-bucketBits),
		jen.Comment("searchSize is a power of two with room for a full ladder past the last threshold."),
		jen.Id("searchSize").Op("=").Lit(t.searchSize()),
		jen.Comment("keyStride is one more than the largest location id of any vocabulary key."),
		jen.Id("keyStride").Op("=").Lit(stride),
	)
	f.Line()
	f.Comment("tableBin holds the arrays, little-endian, each at an offset that is a multiple of")
	f.Comment("its element size (lookup.Append):")
	f.Comment("  - values: the distinct predictions, float64, ascending;")
	f.Comment("  - textOff: where each value's text starts in text, and where the last ends;")
	f.Comment("  - search: lookup.Order of each threshold, ascending, padded with the largest")
	f.Comment("    uint32: no key, not even NaN's, is above it, so a search never leaves the")
	f.Comment("    class's row;")
	f.Comment("  - first: for each bucket, the number of thresholds in lower buckets;")
	f.Comment("  - keyClass: the key class of Key{PU, DO} at PU*keyStride+DO, for every key whose")
	f.Comment("    ids are both < keyStride, as Vocabulary maps keys to columns (keys with a")
	f.Comment("    larger id are in no vocabulary: class 0);")
	f.Comment("  - cells: for each (class, interval), class-major, the index of its value;")
	f.Comment("  - text: each value's JSON text, as encoding/json writes the float64, end to end.")
	f.Comment("")
	f.Comment("//go:embed " + TableFile)
	f.Var().Id("tableBin").String()
	f.Line()
	f.Comment("Where each array starts in tableBin, in bytes.")
	f.Const().Defs(
		jen.Id("valuesAt").Op("=").Lit(valuesAt),
		jen.Id("searchAt").Op("=").Lit(searchAt),
		jen.Id("textOffAt").Op("=").Lit(textOffAt),
		jen.Id("firstAt").Op("=").Lit(firstAt),
		jen.Id("keyClassAt").Op("=").Lit(keyClassAt),
		jen.Id("cellsAt").Op("=").Lit(cellsAt),
		jen.Id("textAt").Op("=").Lit(textAt),
	)
	f.Line()
	view := func(typ jen.Code, at string, n jen.Code) *jen.Statement {
		return jen.Qual(lookupPkg, "View").Types(typ).Call(jen.Id("tableBin"), jen.Id(at), n)
	}
	f.Comment("The arrays, read in place from the binary's read-only data (lookup.View): start-up")
	f.Comment("decodes and copies nothing, and the OS maps a page in when a prediction first")
	f.Comment("touches it.")
	f.Var().Defs(
		jen.Id("keyClass").Op("=").Parens(jen.Op("*").Index(jen.Id("keyStride").Op("*").Id("keyStride")).Add(classArr.typ())).Call(view(classArr.typ(), "keyClassAt", jen.Id("keyStride").Op("*").Id("keyStride"))),
		jen.Id("search").Op("=").Parens(jen.Op("*").Index(jen.Id("searchSize")).Uint32()).Call(view(jen.Uint32(), "searchAt", jen.Id("searchSize"))),
		jen.Id("textOff").Op("=").Parens(jen.Op("*").Index(jen.Id("tableValues").Op("+").Lit(1)).Uint32()).Call(view(jen.Uint32(), "textOffAt", jen.Id("tableValues").Op("+").Lit(1))),
		jen.Id("first").Op("=").Parens(jen.Op("*").Index(jen.Lit(1).Op("<<").Lit(bucketBits)).Add(firstArr.typ())).Call(view(firstArr.typ(), "firstAt", jen.Lit(1).Op("<<").Lit(bucketBits))),
		jen.Id("table").Op("=").Qual(lookupPkg, "Table").Types(cellArr.typ()).Values(jen.Dict{
			jen.Id("Values"): view(jen.Float64(), "valuesAt", jen.Id("tableValues")),
			jen.Id("Cells"):  view(cellArr.typ(), "cellsAt", jen.Id("classes").Op("*").Id("intervals")),
		}),
	)
	f.Line()
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
	f.Line()
	f.Comment("value returns the index of f's prediction among the table's distinct values.")
	f.Func().Id("value").Params(jen.Id("f").Qual(featurePkg, "Features")).Int().Block(
		jen.Id("class").Op(":=").Lit(0).Comment("a key with an id ≥ keyStride is in no vocabulary"),
		jen.If(jen.Uint32().Call(jen.Id("f").Dot("PU")).Op("<").Id("keyStride").Op("&&").Uint32().Call(jen.Id("f").Dot("DO")).Op("<").Id("keyStride")).Block(
			jen.Id("class").Op("=").Int().Call(jen.Id("keyClass").Index(jen.Int().Call(jen.Id("f").Dot("PU")).Op("*").Id("keyStride").Op("+").Int().Call(jen.Id("f").Dot("DO")))),
		),
		jen.Return(jen.Int().Call(jen.Id("table").Dot("Cells").Index(jen.Id("class").Op("*").Id("intervals").Op("+").Id("interval").Call(jen.Float32().Call(jen.Id("f").Dot("Distance")))))),
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
	for step := 1 << t.ladderSteps() >> 1; step >= 1; step /= 2 {
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
	return m.writeFile(files, "table.go", f)
}

// keyClasses maps every key whose ids are both below stride (one more than
// the largest id in the vocabulary) to its key class, at PU*stride+DO:
// class c ≥ 1 for the key of column splitCols[c-1], 0 for any other key. The
// vocabulary decides which key is which column (m.vocab.Index), so the
// generated lookup agrees with Vocabulary.Index for every key; a key with a
// larger id is in no vocabulary.
func (t *table) keyClasses(m *model) (stride int, classes []uint32, err error) {
	var maxID int32
	for _, name := range m.FeatureNames {
		if s, ok := strings.CutPrefix(name, feature.KeyPrefix); ok {
			k, err := feature.ParseKey(s)
			if err != nil {
				return 0, nil, err
			}
			maxID = max(maxID, k.PU, k.DO)
		}
	}
	classOfColumn := map[int]uint32{}
	for i, col := range t.splitCols {
		classOfColumn[int(col)] = uint32(i + 1)
	}
	stride = int(maxID) + 1
	classes = make([]uint32, stride*stride)
	for pu := range stride {
		for do := range stride {
			classes[pu*stride+do] = classOfColumn[m.vocab.Index(feature.Key{PU: int32(pu), DO: int32(do)})]
		}
	}
	return stride, classes, nil
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
