package gen

import (
	"fmt"
	"math"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
	"github.com/rideduration/rideduration/flat"
	"github.com/rideduration/rideduration/lookup"
)

// FlatFile is the flat backend's embedded node arrays.
const FlatFile = "trees.bin"

const flatPkg = "github.com/rideduration/rideduration/flat"

// flatOps are the flat op of each input read as a number, and as a category.
var (
	flatNumber   = [...]flat.Op{feature.InputPU: flat.PU, feature.InputDO: flat.DO, feature.InputDistance: flat.Distance}
	flatCategory = [...]flat.Op{feature.InputPUDO: flat.Key, feature.InputPU: flat.PUID, feature.InputDO: flat.DOID}
)

// flatTrees lays the trees out as package flat walks them: nodes in
// preorder, each with its split decided (export.Ensemble.Threshold,
// OneHot). It is made once: the callers only read it.
func (m *model) flatTrees() *flat.Trees {
	if m.flat != nil {
		return m.flat
	}
	nodes := 0
	for i := range m.Trees {
		nodes += m.Trees[i].Nodes()
	}
	ft := flat.Trees{Ops: make([]flat.Op, 0, nodes), Right: make([]int32, 0, nodes), Value: make([]float64, 0, nodes),
		Roots: make([]int32, 0, len(m.Trees))}
	var visit func(t *export.Tree, n int32)
	visit = func(t *export.Tree, n int32) {
		at := len(ft.Ops)
		ft.Ops, ft.Right = append(ft.Ops, flat.Leaf), append(ft.Right, 0)
		if t.IsLeaf(n) {
			ft.Value = append(ft.Value, t.Value[n])
			return
		}
		c := &m.cols[t.Feature[n]]
		if !c.OneHot {
			ft.Ops[at] = flatNumber[c.Input]
			ft.Value = append(ft.Value, m.Threshold(t, n))
		} else {
			op := flatCategory[c.Input]
			hot, cold := m.OneHot(t, n)
			if hot == export.Left {
				op |= flat.HotLeft
			}
			if cold == export.Left {
				op |= flat.ColdLeft
			}
			category := flat.Pack(c.Category.PU, c.Category.DO)
			switch c.Input {
			case feature.InputPU:
				category = uint64(uint32(c.Category.PU))
			case feature.InputDO:
				category = uint64(uint32(c.Category.DO))
			}
			ft.Ops[at] = op
			ft.Value = append(ft.Value, math.Float64frombits(category))
		}
		visit(t, t.ChildrenLeft[n])
		ft.Right[at] = int32(len(ft.Ops))
		visit(t, t.ChildrenRight[n])
	}
	for i := range m.Trees {
		ft.Roots = append(ft.Roots, int32(len(ft.Ops)))
		visit(&m.Trees[i], 0)
	}
	m.flat = &ft
	return m.flat
}

// writeFlat writes the flat backend: flat.go and the node arrays it embeds.
// When the table serves, flat_test.go: the tests hold the table to the
// trees, and production builds neither compile nor embed them.
func (m *model) writeFlat(files Files, p *plan) error {
	ft := m.flatTrees()
	blob, valueAt := lookup.Append(nil, ft.Value)
	blob, rootsAt := lookup.Append(blob, ft.Roots)
	blob, rightAt := lookup.Append(blob, ft.Right)
	blob, opsAt := lookup.Append(blob, ft.Ops)
	files[FlatFile] = blob

	f := m.newFile()
	f.Anon("embed")
	guard(f, lookupPkg, lookup.Layout)
	guard(f, flatPkg, flat.Layout)
	f.Comment(fmt.Sprintf("treesBin holds the %d trees' %d nodes as package flat walks them: the", len(ft.Roots), len(ft.Ops)))
	f.Comment("arrays of flat.Trees, little-endian (lookup.Append), read in place (lookup.View).")
	f.Comment("")
	f.Comment("//go:embed " + FlatFile)
	f.Var().Id("treesBin").String()
	f.Line()
	view := func(typ jen.Code, at, n int) *jen.Statement {
		return jen.Qual(lookupPkg, "View").Types(typ).Call(jen.Id("treesBin"), jen.Lit(at), jen.Lit(n))
	}
	f.Var().Id("trees").Op("=").Qual(flatPkg, "Trees").Values(jen.Dict{
		jen.Id("Roots"): view(jen.Int32(), rootsAt, len(ft.Roots)),
		jen.Id("Ops"):   view(jen.Qual(flatPkg, "Op"), opsAt, len(ft.Ops)),
		jen.Id("Right"): view(jen.Int32(), rightAt, len(ft.Right)),
		jen.Id("Value"): view(jen.Float64(), valueAt, len(ft.Value)),
	})
	f.Line()

	number := func(x jen.Code) jen.Code {
		if m.Combine.Input == export.Float32 {
			return jen.Float64().Call(jen.Float32().Call(x))
		}
		return x
	}
	id := func(x string) jen.Code { return number(jen.Float64().Call(jen.Id("f").Dot(x))) }
	f.Comment("predictFlat walks every tree with package flat, as the library does: the ride's")
	f.Comment(fmt.Sprintf("numbers converted to %s, the leaf values added in tree order in %s.", m.Combine.Input, m.Combine.Sum))
	f.Func().Id("predictFlat").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(
		jen.Id("in").Op(":=").Qual(flatPkg, "Input").Values(jen.Dict{
			jen.Id("Key"):    jen.Qual(flatPkg, "Pack").Call(jen.Id("f").Dot("PU"), jen.Id("f").Dot("DO")),
			jen.Id("PU"):     jen.Id("f").Dot("PU"),
			jen.Id("DO"):     jen.Id("f").Dot("DO"),
			jen.Id("Number"): jen.Index(jen.Lit(4)).Float64().Values(jen.Lit(0), id("PU"), id("DO"), number(jen.Id("f").Dot("Distance"))),
		}),
		m.sumStart(),
		jen.For(jen.Id("i").Op(":=").Range().Len(jen.Id("trees").Dot("Roots"))).Block(
			m.sumAdd(jen.Id("trees").Dot("Leaf").Call(jen.Id("i"), jen.Op("&").Id("in"))),
		),
		jen.Return(m.sumEnd()),
	)
	predictTreesFunc(f, p)
	if p.treesServe() {
		return m.writeFile(files, "flat.go", f)
	}
	return m.writeFile(files, "flat_test.go", f)
}
