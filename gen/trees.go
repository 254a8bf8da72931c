package gen

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/feature"
)

// Names of the generated input struct's fields, per feature.Input.
var inputField = [...]string{feature.InputPUDO: "key", feature.InputPU: "pu", feature.InputDO: "do", feature.InputDistance: "distance"}

// writeTrees writes the if/else backend: trees.go with the input struct and
// PredictTrees, and the tree functions, TreesPerFile to a file. When the
// trees do not serve, the files are test files: production builds leave
// them out.
func (m *model) writeTrees(files Files, p *plan) error {
	suffix := "_test.go"
	if p.treesServe() {
		suffix = ".go"
	}
	per := max(m.opts.TreesPerFile, 1)
	for first := 0; first < len(m.Trees); first += per {
		f := m.newFile()
		for i := first; i < min(first+per, len(m.Trees)); i++ {
			t := &m.Trees[i]
			f.Commentf("%s is tree %d: %d nodes.", treeFunc(i), i, t.Nodes())
			f.Func().Id(treeFunc(i)).Params(jen.Id("in").Op("*").Id("input")).Float64().Block(m.node(t, 0)...)
			f.Line()
		}
		if err := m.writeFile(files, fmt.Sprintf("trees_%02d%s", first/per, suffix), f); err != nil {
			return err
		}
	}
	return m.writeFile(files, "trees"+suffix, m.treesFile(p))
}

func treeFunc(i int) string { return fmt.Sprintf("tree%03d", i) }

// inputType is the type the trees compare numbers in.
func (m *model) inputType() *jen.Statement {
	if m.Combine.Input == export.Float32 {
		return jen.Float32()
	}
	return jen.Float64()
}

func (m *model) treesFile(p *plan) *jen.File {
	f := m.newFile()
	var fields, init []jen.Code
	for i, used := range m.used {
		if !used {
			continue
		}
		in := feature.Input(i)
		var oneHot, number bool
		for _, c := range m.cols {
			oneHot = oneHot || c.Input == in && c.OneHot
			number = number || c.Input == in && !c.OneHot
		}
		name := inputField[in]
		switch {
		case in == feature.InputPUDO:
			fields = append(fields, jen.Id(name).Uint64().Comment("PU_DO: PU<<32 | DO"))
			init = append(init, jen.Id(name).Op(":").Id("pack").Call(jen.Id("f").Dot("PU"), jen.Id("f").Dot("DO")))
		case oneHot:
			fields = append(fields, jen.Id(name).Int32().Comment(in.String()+", a category"))
			init = append(init, jen.Id(name).Op(":").Id("f").Dot(map[feature.Input]string{feature.InputPU: "PU", feature.InputDO: "DO"}[in]))
		case number:
			src := jen.Id("f").Dot("Distance")
			if in != feature.InputDistance {
				src = jen.Id("f").Dot(map[feature.Input]string{feature.InputPU: "PU", feature.InputDO: "DO"}[in])
			}
			fields = append(fields, jen.Id(name).Add(m.inputType()).Comment(in.String()+", as the library compares it"))
			init = append(init, jen.Id(name).Op(":").Add(m.inputType()).Call(src))
		}
	}
	f.Comment("input is a ride as the trees read it.")
	f.Type().Id("input").Struct(fields...)
	f.Line()
	f.Func().Id("newInput").Params(jen.Id("f").Qual(featurePkg, "Features")).Id("input").Block(
		jen.Return(jen.Id("input").Values(init...)),
	)
	f.Line()
	if m.used[feature.InputPUDO] {
		f.Comment("pack is a PU_DO key as one integer, so that a tree compares it once (the")
		f.Comment("compiler folds pack of constants).")
		f.Func().Id("pack").Params(jen.List(jen.Id("pu"), jen.Id("do")).Int32()).Uint64().Block(
			jen.Return(jen.Uint64().Call(jen.Uint32().Call(jen.Id("pu"))).Op("<<").Lit(32).Op("|").Uint64().Call(jen.Uint32().Call(jen.Id("do")))),
		)
		f.Line()
	}

	sum := []jen.Code{jen.Id("in").Op(":=").Id("newInput").Call(jen.Id("f")), m.sumStart()}
	for i := range m.Trees {
		sum = append(sum, m.sumAdd(jen.Id(treeFunc(i)).Call(jen.Op("&").Id("in"))))
	}
	sum = append(sum, jen.Return(m.sumEnd()))
	c := m.Combine
	f.Comment("predictTrees walks every tree, as the library does: the ride's numbers converted")
	f.Comment(fmt.Sprintf("to %s, the leaf values added in tree order in %s from %v,", c.Input, c.Sum, c.Base))
	switch {
	case c.Scale != 1:
		f.Comment(fmt.Sprintf("each multiplied by the learning rate %v first (the product rounded).", c.Scale))
	case c.Divisor != 1:
		f.Comment(fmt.Sprintf("then divided by %v.", c.Divisor))
	default:
		f.Comment("nothing more.")
	}
	switch {
	case c.Link == export.Exp:
		f.Comment("The prediction is the sum's exp, as the C library's expf computes it (link.Expf).")
	case c.Tabled():
		f.Comment("The prediction is the library's " + c.Link + " of the sum, as the exporter computed it (linkOf).")
	}
	f.Func().Id("predictTrees").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(sum...)
	predictTreesFunc(f, p)
	return f
}

// predictTreesFunc writes PredictTrees, which calls the trees' walk: Predict
// itself when the trees serve, else the tests' handle on the trees.
func predictTreesFunc(f *jen.File, p *plan) {
	walk := p.trees.predictFunc()
	f.Line()
	if p.treesServe() {
		f.Comment("PredictTrees is Predict: the trees serve.")
	} else {
		f.Comment("PredictTrees is " + walk + ", for the tests: Predict reads the table, and the")
		f.Comment("tests hold it to the trees. Production builds leave the trees out.")
	}
	f.Func().Id("PredictTrees").Params(jen.Id("f").Qual(featurePkg, "Features")).Float64().Block(
		jen.Return(jen.Id(walk).Call(jen.Id("f"))),
	)
}

// node returns the statements that evaluate the subtree at node n.
func (m *model) node(t *export.Tree, n int32) []jen.Code {
	if t.IsLeaf(n) {
		return []jen.Code{jen.Return(floatLit(t.Value[n], 64))}
	}
	c := &m.cols[t.Feature[n]]
	left, right := t.ChildrenLeft[n], t.ChildrenRight[n]
	if !c.OneHot {
		bits := 64
		if m.Combine.Input == export.Float32 {
			bits = 32
		}
		test := jen.Id("in").Dot(inputField[c.Input]).Op("<=").Add(floatLit(m.Threshold(t, n), bits))
		return []jen.Code{jen.If(test).Block(m.node(t, left)...).Else().Block(m.node(t, right)...)}
	}
	hot, cold := m.OneHot(t, n)
	child := func(d export.Direction) int32 {
		if d == export.Left {
			return left
		}
		return right
	}
	if hot == cold { // the split sends every ride the same way
		return append([]jen.Code{jen.Commentf("%s: every ride goes %s", c.Name, map[export.Direction]string{export.Left: "left", export.Right: "right"}[hot])}, m.node(t, child(hot))...)
	}
	var is jen.Code
	switch c.Input {
	case feature.InputPUDO:
		is = jen.Id("pack").Call(jen.Lit(int(c.Category.PU)), jen.Lit(int(c.Category.DO)))
	case feature.InputPU:
		is = jen.Lit(int(c.Category.PU))
	default:
		is = jen.Lit(int(c.Category.DO))
	}
	return []jen.Code{
		jen.Comment(c.Name),
		jen.If(jen.Id("in").Dot(inputField[c.Input]).Op("!=").Add(is)).Block(m.node(t, child(cold))...).Else().Block(m.node(t, child(hot))...),
	}
}

// sumStart declares the sum s at the ensemble's base, in its type.
func (m *model) sumStart() jen.Code {
	if m.Combine.Sum == export.Float32 {
		return jen.Var().Id("s").Float32().Op("=").Add(floatLit(m.Combine.Base, 32))
	}
	return jen.Var().Id("s").Float64().Op("=").Add(floatLit(m.Combine.Base, 64))
}

// sumAdd adds a tree's leaf (a float64 expression) to s, in the library's
// arithmetic (export.Combine.Add).
func (m *model) sumAdd(leaf *jen.Statement) jen.Code {
	c := m.Combine
	typ, bits := jen.Float64(), 64
	if c.Sum == export.Float32 {
		typ, bits = jen.Float32(), 32
		leaf = jen.Float32().Call(leaf)
	}
	if c.Scale != 1 {
		// The conversion rounds the product: Go may not fuse it with the sum into one FMA.
		leaf = jen.Add(typ).Call(jen.Add(floatLit(c.Scale, bits)).Op("*").Add(leaf))
	}
	return jen.Id("s").Op("+=").Add(leaf)
}

// sumEnd is the prediction from the sum s: divided, as a float64.
func (m *model) sumEnd() jen.Code {
	c := m.Combine
	bits := 64
	if c.Sum == export.Float32 {
		bits = 32
	}
	end := jen.Id("s")
	if c.Divisor != 1 {
		end = jen.Id("s").Op("/").Add(floatLit(c.Divisor, bits))
	}
	if c.Link == export.Exp {
		end = jen.Qual(linkPkg, "Expf").Call(end) // the sum is float32: Combine.check
	}
	if c.Sum == export.Float32 {
		end = jen.Float64().Call(end)
	}
	if c.Tabled() {
		end = jen.Id("linkOf").Call(end) // the trees are in the tests: the table serves
	}
	return end
}

const linkPkg = "github.com/rideduration/rideduration/link"
