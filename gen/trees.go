package gen

import (
	"fmt"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
)

// trees writes the if/else backend: trees.go with PredictTrees, and the tree
// functions, TreesPerFile to a file.
func (m *model) trees(files Files) error {
	per := max(m.opts.TreesPerFile, 1)
	for first := 0; first < len(m.Trees); first += per {
		f := m.newFile()
		for i := first; i < min(first+per, len(m.Trees)); i++ {
			t := &m.Trees[i]
			f.Commentf("%s is estimator %d: %d nodes. col is the ride's PU_DO column, x its float32 distance.", treeFunc(i), i, len(t.Feature))
			f.Func().Id(treeFunc(i)).Params(jen.Id("col").Int32(), jen.Id("x").Float32()).Float64().Block(m.node(t, 0)...)
			f.Line()
		}
		if err := m.writeFile(files, fmt.Sprintf("trees_%02d.go", first/per), f); err != nil {
			return err
		}
	}

	f := m.newFile()
	sum := []jen.Code{
		jen.List(jen.Id("col"), jen.Id("x")).Op(":=").Int32().Call(jen.Id("Vocabulary").Dot("Index").Call(jen.Id("f").Dot("Key"))).Op(",").Float32().Call(jen.Id("f").Dot("Distance")),
		jen.Id("s").Op(":=").Lit(0.0),
	}
	for i := range m.Trees {
		sum = append(sum, jen.Id("s").Op("+=").Id(treeFunc(i)).Call(jen.Id("col"), jen.Id("x")))
	}
	sum = append(sum, jen.Return(jen.Id("s").Op("/").Id("NEstimators")))
	f.Comment("PredictTrees walks every tree, as sklearn does: the distance cast to float32,")
	f.Comment("the leaf values summed in estimator order from 0, divided by the number of trees.")
	f.Comment("Same result as Predict, some hundreds of times slower: the fallback and the check.")
	f.Func().Id("PredictTrees").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(sum...)
	return m.writeFile(files, "trees.go", f)
}

func treeFunc(i int) string { return fmt.Sprintf("tree%03d", i) }

// node returns the statements that evaluate the subtree at node n.
func (m *model) node(t *export.Tree, n int32) []jen.Code {
	if t.IsLeaf(n) {
		return []jen.Code{jen.Return(jen.Lit(t.Value[n]))}
	}
	left, right := m.node(t, t.ChildrenLeft[n]), m.node(t, t.ChildrenRight[n])
	col := t.Feature[n]
	if col == m.distance {
		return []jen.Code{jen.If(jen.Id("x").Op("<=").Add(float32Lit(export.Threshold32(t.Threshold[n])))).Block(left...).Else().Block(right...)}
	}
	// A 0/1 column x[col] <= 0.5 holds when the ride's key is not col's.
	return []jen.Code{
		jen.Comment(m.FeatureNames[col]),
		jen.If(jen.Id("col").Op("!=").Lit(int(col))).Block(left...).Else().Block(right...),
	}
}

// float32Lit renders v as the shortest decimal that converts back to v in
// float32 (Go rounds an untyped constant to the nearest float32), so the code
// reads "x <= 2.345", not "x <= float32(2.3450000286102295)".
func float32Lit(v float32) jen.Code {
	return jen.Op(strconv.FormatFloat(float64(v), 'g', -1, 32))
}
