package gen

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/lookup"
)

// LinkFile is the embedded file of a tabled link's values, in the
// generated package's tests.
const LinkFile = "link_test.bin"

// A tabled link (export.Combine.Tabled: numpy's exp or expm1, whose SIMD
// kernels no Go function reproduces) is served by the table only: the
// exporter computes the link of each distinct sum the table's cells hold
// with the library's own function (LinkSums lists them), and the table
// stores those values. The trees, in the tests, end with linkOf, which
// looks the sum up in the same values (LinkFile).

// LinkSums returns the sums whose link a tabled link needs: every distinct
// divided sum the cells of e's table can hold, whichever of the two tables
// serves, ascending in lookup.Order64's order, each once (as
// export.LinkTable keeps them). It fails when no table fits opts: a tabled
// link cannot be served by the trees.
func LinkSums(e *export.Ensemble, opts Options) ([]float64, error) {
	m, err := newModel(e, opts)
	if err != nil {
		return nil, err
	}
	if !m.Combine.Tabled() {
		return nil, fmt.Errorf("the ensemble's link %q is not tabled: its sums need no values", m.Combine.Link)
	}
	m.sums = true
	t, why := m.table()
	if t == nil {
		return nil, m.untabled(why)
	}
	// Each class's own intervals: every value either table holds.
	sums := slices.Clone(t.each.values)
	slices.SortFunc(sums, func(a, b float64) int { return cmp.Compare(lookup.Order64(a), lookup.Order64(b)) })
	return slices.CompactFunc(sums, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }), nil
}

// untabled is the error for a tabled link that no table serves.
func (m *model) untabled(why string) error {
	return fmt.Errorf("the model's link is %s, whose values the exporter computes with the library's own function for each prediction of the table, and no table serves: %s It cannot be compiled bit for bit", m.Combine.Link, strings.TrimPrefix(why, "Predict walks the trees: "))
}

// end is the prediction from the sum of every tree, as the table's cells
// hold it: the divided sum itself while LinkSums collects the sums.
func (m *model) end(s float64) float64 {
	if m.sums {
		return m.Combine.Divide(s)
	}
	return m.Combine.End(s)
}

// checkLinked checks that every cell of a tabled link's table has its
// value: the export's link table was computed for this table.
func (m *model) checkLinked(t *table) error {
	values := t.each.values // each class's own intervals: every value either table holds
	if i := slices.IndexFunc(values, math.IsNaN); i >= 0 {
		return fmt.Errorf("the export's link table has no value for a sum of the table (cell %d): it was not computed for this model's table; export it again (make model-export)", i)
	}
	return nil
}

// linkDoc says where a tabled link's values come from, for the package comment.
func (m *model) linkDoc() string {
	l := m.LinkTable
	return fmt.Sprintf(" Its link, %s, is numpy %s's, computed by the exporter for each of the table's %d distinct sums on a CPU with %s: it is exact to the library where numpy runs those kernels.",
		l.Function, l.Numpy, len(l.Sums), strings.Join(l.CPU, ", "))
}

// writeLink writes LinkFile, the link table's sums (as lookup.Order64
// keys) and values, and link_test.go, whose linkOf reads them.
func (m *model) writeLink(files Files) error {
	l := m.LinkTable
	keys := make([]uint64, len(l.Sums))
	for i, s := range l.Sums {
		keys[i] = lookup.Order64(s)
	}
	blob, _ := lookup.Append(nil, keys)
	blob, valuesAt := lookup.Append(blob, l.Values)
	files[LinkFile] = blob

	// //go:embed link_test.bin
	// var linkBin string
	//
	// const linkSums = N
	//
	// var (
	// 	linkKeys   = lookup.View[uint64](linkBin, 0, linkSums)
	// 	linkValues = lookup.View[float64](linkBin, valuesAt, linkSums)
	// )
	//
	// func linkOf(s float64) float64 {
	// 	k := lookup.Order64(s)
	// 	i := lookup.Rank(linkKeys, k)
	// 	if i == linkSums || linkKeys[i] != k {
	// 		return math.NaN()
	// 	}
	// 	return linkValues[i]
	// }
	f := m.newFile()
	f.Anon("embed")
	f.Comment(fmt.Sprintf("linkBin holds the link table: the lookup.Order64 key of each of the %d sums,", len(l.Sums)))
	f.Comment(fmt.Sprintf("ascending, then the library's %s of each (numpy %s; CPU %s).", l.Function, l.Numpy, strings.Join(l.CPU, ", ")))
	f.Comment("")
	f.Comment("//go:embed " + LinkFile)
	f.Var().Id("linkBin").String()
	f.Line()
	f.Const().Id("linkSums").Op("=").Lit(len(l.Sums))
	f.Line()
	f.Var().Defs(
		jen.Id("linkKeys").Op("=").Qual(lookupPkg, "View").Types(jen.Uint64()).Call(jen.Id("linkBin"), jen.Lit(0), jen.Id("linkSums")),
		jen.Id("linkValues").Op("=").Qual(lookupPkg, "View").Types(jen.Float64()).Call(jen.Id("linkBin"), jen.Lit(valuesAt), jen.Id("linkSums")),
	)
	f.Line()
	f.Comment(fmt.Sprintf("linkOf returns the library's %s of the divided sum s, as the exporter computed it:", l.Function))
	f.Comment("the value the table holds for s. NaN for a sum the table does not hold.")
	f.Func().Id("linkOf").Params(jen.Id("s").Float64()).Float64().Block(
		jen.Id("k").Op(":=").Qual(lookupPkg, "Order64").Call(jen.Id("s")),
		jen.Id("i").Op(":=").Qual(lookupPkg, "Rank").Call(jen.Id("linkKeys"), jen.Id("k")),
		jen.If(jen.Id("i").Op("==").Id("linkSums").Op("||").Id("linkKeys").Index(jen.Id("i")).Op("!=").Id("k")).Block(
			jen.Return(jen.Qual("math", "NaN").Call()),
		),
		jen.Return(jen.Id("linkValues").Index(jen.Id("i"))),
	)
	return m.writeFile(files, "link_test.go", f)
}
