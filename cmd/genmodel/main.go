// Command genmodel writes the Go package that scores rides with an exported
// tree ensemble. generated/ runs it through go generate (generate_test.go):
//
//	//go:generate go run ../cmd/genmodel -in ../testdata/model.json.zst -out .
package main

import (
	"flag"
	"log"

	"github.com/rideduration/rideduration/export"
	"github.com/rideduration/rideduration/gen"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("genmodel: ")
	in := flag.String("in", "", "tree-ensemble export (zstd JSON) to read")
	out := flag.String("out", ".", "directory of the generated package")
	opts := gen.DefaultOptions
	flag.StringVar(&opts.Package, "pkg", opts.Package, "package name")
	flag.IntVar(&opts.MaxTableBytes, "max-table-bytes", opts.MaxTableBytes, "largest table to generate; above it Predict walks the trees")
	flag.IntVar(&opts.MaxTreeNodes, "max-tree-nodes", opts.MaxTreeNodes, "most nodes written as if/else code; above it the trees are node arrays (package flat)")
	flag.Parse()
	if *in == "" {
		log.Fatal("usage: genmodel -in model.json.zst -out dir")
	}
	opts.Source = gen.SourceName(*in)
	gen.LimitMemory()
	if err := run(*in, *out, opts); err != nil {
		log.Fatal(err)
	}
}

func run(in, out string, opts gen.Options) error {
	e, err := export.Load(in)
	if err != nil {
		return err
	}
	files, err := gen.Generate(e, opts)
	if err != nil {
		return err
	}
	if err := gen.Write(out, files); err != nil {
		return err
	}
	log.Printf("model %s: wrote %d files to %s", e.Metadata.Version, len(files), out)
	return nil
}
